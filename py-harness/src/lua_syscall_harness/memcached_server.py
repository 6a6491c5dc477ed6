"""Starting the patched memcached in one of its UDP modes, and loading its key set over TCP."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from pymemcache.client.base import Client

from . import memcache_udp
from .memcached_build import LUA_SCRIPT, binary, noreuse_shim

VALUE_SIZES = (8, 64, 512, 1024, 4096)


@dataclass(frozen=True)
class Variant:
    name: str
    udp_io: str
    batch: int = 16
    # memcached's -o udp_wait_ms (0: back to libevent): when the last exchange saw the
    # socket empty, lua and uring wait up to this long for the next request in the same
    # crossing, and mmsg leaves the receive to libevent's epoll_wait (the same rule)
    wait_ms: int = 0

    def options(self) -> str:
        opts = [f"udp_io={self.udp_io}", f"udp_batch={self.batch}"]
        if self.udp_io == "lua":
            opts.append(f"udp_lua_script={LUA_SCRIPT}")
        if self.wait_ms and self.udp_io != "stock":
            opts.append(f"udp_wait_ms={self.wait_ms}")
        return ",".join(opts)


# stock: one recvfrom + one sendmsg per datagram; mmsg: recvmmsg + sendmmsg per batch;
# uring: one io_uring_enter per batch (sendmsg SQEs, multishot recvmsg); lua: one
# lua_syscall per batch. Every batched path follows the same wait rule (udp_wait_ms):
# lua and uring wait for the next request inside their call, mmsg in libevent.
VARIANTS = {
    "stock": Variant("stock", "stock", 1),
    "mmsg": Variant("mmsg", "mmsg", 16, wait_ms=1),
    "uring": Variant("uring", "uring", 16, wait_ms=1),
    "lua": Variant("lua", "lua", 16, wait_ms=1),
    "lua-b1": Variant("lua-b1", "lua", 1, wait_ms=1),
}


def memaslap_env() -> dict[str, str]:
    """Environment for memcaslap -U: the udp_noreuse shim preloaded, without which two
    of its UDP sockets can share a port and it aborts on the other's reply
    (ms_sort_udp_packet), against any server."""
    shim = noreuse_shim()
    if not shim.exists():
        raise RuntimeError(f"{shim} is missing: memcached_build.build_all() builds it")
    return {**os.environ, "LD_PRELOAD": str(shim)}


def key(size: int, i: int) -> str:
    return f"v{size}:{i}"


def value(size: int, i: int) -> bytes:
    """Deterministic, distinguishable bytes, so a wrong value cannot pass a check."""
    seed = f"{size}:{i}:".encode()
    return (seed * (size // len(seed) + 1))[:size]


START_TRIES = 600
"""Connection attempts, 0.1 s apart, before a started memcached counts as not listening."""


@dataclass
class Server:
    variant: Variant
    port: int
    cpu: int | None = 0
    memory_mb: int = 64
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self, binary_path: Path | None = None) -> None:
        argv = [str(binary_path or binary()), "-u", "root", "-t", "1", "-l", "127.0.0.1",
                "-p", str(self.port), "-U", str(self.port), "-m", str(self.memory_mb),
                "-o", self.variant.options()]
        if self.cpu is not None:
            argv = ["taskset", "-c", str(self.cpu), *argv]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Tries, not a deadline: under icount the guest clock can jump by seconds while every
        # vCPU waits on host 9p I/O (memcached's binary being read), which once used up a
        # 30 s deadline before memcached had run at all.
        for _ in range(START_TRIES):
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"memcached ({self.variant.name}) exited "
                                   f"{self.proc.returncode}: {err.strip()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"memcached ({self.variant.name}) did not listen on {self.port} "
                           f"after {START_TRIES} tries")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def client(self) -> Client:
        return Client(("127.0.0.1", self.port), connect_timeout=10, timeout=30)

    def load(self, sizes: tuple[int, ...], count: int) -> None:
        """SET count keys of each value size over TCP (pymemcache)."""
        client = self.client()
        try:
            for size in sizes:
                items = {key(size, i): value(size, i) for i in range(count)}
                failed = client.set_many(items, noreply=False)
                if failed:
                    raise RuntimeError(f"memcached refused {len(failed)} SETs")
        finally:
            client.close()

    def stats(self) -> dict[str, str]:
        client = self.client()
        try:
            return {k.decode(): v.decode() if isinstance(v, bytes) else str(v)
                    for k, v in client.stats().items()}
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / 100.0


def udp_get_many(port: int, keys: list[str], *, reserved: int = memcache_udp.MEMASLAP_RESERVED,
                 window: int = 32, timeout: float = 20.0) -> dict[int, list[bytes]]:
    """GET keys over UDP, up to `window` in flight; request id -> its reply datagrams
    (checked and ordered by sequence number by the scapy layer's Reassembler)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(timeout)
    frames = [memcache_udp.get_request(k, i, reserved=reserved) for i, k in enumerate(keys)]
    asm = memcache_udp.Reassembler()
    raw: dict[int, dict[int, bytes]] = {}
    done: dict[int, list[bytes]] = {}
    sent = 0
    try:
        while len(done) < len(frames):
            while sent < len(frames) and sent - len(done) < window:
                sock.send(frames[sent])
                sent += 1
            datagram = sock.recv(2048)
            rid = asm.add(datagram)
            seq = int.from_bytes(datagram[2:4], "big")
            raw.setdefault(int.from_bytes(datagram[:2], "big"), {})[seq] = datagram
            if rid is not None:
                done[rid] = [raw[rid][i] for i in range(len(raw[rid]))]
    finally:
        sock.close()
    return done
