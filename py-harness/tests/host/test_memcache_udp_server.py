"""The patched memcached on the host kernel: the stock and recvmmsg/sendmmsg paths answer
identically, and the load generator counts what it gets. (The lua path needs the
lua_syscall kernel: tests/guest/test_memcached_udp.py.)"""

import json
import socket
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from lua_syscall_harness import memcache_udp
from lua_syscall_harness.memcached_build import binary, loadgen_binary
from lua_syscall_harness.memcached_server import VARIANTS, Server, key, udp_get_many, value

pytestmark = pytest.mark.skipif(not binary().exists(),
                                reason="memcached not built: `lua-syscall test` builds it")


@pytest.fixture(scope="module", params=["stock", "mmsg"])
def server(request):
    s = Server(VARIANTS[request.param], 24000 + list(VARIANTS).index(request.param), cpu=None)
    s.start()
    s.load((8, 4096), 20)
    yield s
    s.stop()


def test_gets_over_udp(server):
    keys = [key(8, i) for i in range(20)] + [key(4096, i) for i in range(20)] + ["nope"]
    replies = udp_get_many(server.port, keys)
    for rid, k in enumerate(keys):
        payload = b"".join(d[8:] for d in replies[rid])
        expected = {} if k == "nope" else {k: (0, value(int(k[1:].split(":")[0]),
                                                        int(k.split(":")[1])))}
        assert memcache_udp.parse_get_reply(payload) == expected
        assert replies[rid] == memcache_udp.split_reply(payload, rid)


def test_loadgen_counts_hits_and_misses(server, tmp_path):
    corpus = tmp_path / "corpus.bin"
    keys = [key(8, i) for i in range(20)] + ["missing"] * 5 + [key(4096, i) for i in range(5)]
    memcache_udp.write_corpus(corpus, memcache_udp.get_corpus(keys))
    res = subprocess.run([str(loadgen_binary("mc_loadgen")), "-p", str(server.port), "-c",
                          str(corpus), "-d", "0.5", "-w", "0.1", "-o", "16"],
                         capture_output=True, text=True, check=True)
    out = json.loads(res.stdout)
    assert out["completed"] > 0
    assert out["bad"] == 0 and out["stray"] == 0
    # a sixth of the corpus misses; multi-datagram replies were reassembled
    assert 0 < out["misses"] < out["sent"]
    assert out["rx_datagrams"] > out["sent"] - out["lost"] - 16
    assert out["p99_us"] >= out["p50_us"] > 0


def io_uring_enabled() -> bool:
    try:
        return Path("/proc/sys/kernel/io_uring_disabled").read_text().strip() == "0"
    except OSError:
        return True  # kernels before 6.6 have no switch


def one_at_a_time(server: Server, gets: int) -> list[float]:
    """GETs one at a time, each followed by a TCP stats request: seconds per stats."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", server.port))
    sock.settimeout(5)
    took = []
    try:
        for i in range(gets):
            sock.send(memcache_udp.get_request(key(64, i % 10), i))
            assert int.from_bytes(sock.recv(2048)[:2], "big") == i
            t0 = time.monotonic()
            server.stats()
            took.append(time.monotonic() - t0)
    finally:
        sock.close()
    return took


@pytest.mark.skipif(not io_uring_enabled(), reason="io_uring disabled on this host")
def test_uring_waits_in_its_call_and_any_event_ends_the_wait():
    """With udp_wait_ms the uring path waits for the next request inside io_uring_enter
    once the socket was drained; a TCP request (another descriptor of the worker) ends
    that wait at once through the poll of libevent's epoll instance, as it ends lua's."""
    server = Server(replace(VARIANTS["uring"], wait_ms=500), 24700, cpu=None)
    server.start()
    try:
        server.load((64,), 10)
        took = one_at_a_time(server, 20)
        stats = server.stats()
    finally:
        server.stop()
    assert int(stats["udp_batch_rx_datagrams"]) == 20
    # every exchange after a reply waited (the socket was drained each time) ...
    assert int(stats["udp_batch_waits"]) >= 15
    assert int(stats["udp_batch_wait_first"]) == int(stats["udp_batch_waits"])
    # ... and no TCP request sat out the 500 ms wait
    assert max(took) < 0.25


def test_mmsg_leaves_the_doomed_receive_to_libevent():
    """The same rule for mmsg, which cannot wait in a call: after a receive that drained
    the socket, no recvmmsg that would find nothing; libevent's epoll_wait waits."""
    server = Server(VARIANTS["mmsg"], 24701, cpu=None)
    server.start()
    try:
        server.load((64,), 10)
        one_at_a_time(server, 20)
        stats = server.stats()
    finally:
        server.stop()
    assert int(stats["udp_batch_rx_datagrams"]) == 20
    assert int(stats["udp_batch_rx_skipped"]) >= 15
    assert int(stats["udp_batch_waits"]) == 0
    # one recvmmsg and one sendmmsg per GET, not a third (failing) receive
    assert int(stats["udp_batch_exchanges"]) <= 2 * 20 + 2
