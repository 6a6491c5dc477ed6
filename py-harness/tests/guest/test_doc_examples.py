"""The programs of Documentation/userspace-api/lua_syscall.rst, built by the host tests
(tests/host/test_rst.py), run as the document prints them."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lua_syscall_harness import rst_examples

NOBODY = 65534
PPID_LUA = ("return function(n)\n  local ppid\n  for _ = 1, n do ppid = sys.getppid() end\n"
            "  return ppid\nend\n")


def _binary(name: str) -> Path:
    binary = rst_examples.examples_dir() / name
    if not binary.exists():
        pytest.skip("the host tests build the examples (tests/host/test_rst.py)")
    return binary


def _doc() -> str:
    return rst_examples.RST.read_text()


def test_lua_run_runs_the_documented_script(lua_available: None, tmp_path: Path) -> None:
    assert f"  $ cat ppid.lua\n{''.join('  ' + ln for ln in PPID_LUA.splitlines(True))}" \
        in _doc(), "the document's ppid.lua"
    (tmp_path / "ppid.lua").write_text(PPID_LUA)
    res = subprocess.run([str(_binary("lua_run")), "ppid.lua", "1000"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout == f"{os.getpid()}\n"
    assert re.fullmatch(r"run: 1000 system calls, \d+ instructions in one crossing\n",
                        res.stderr), res.stderr


def test_lua_run_prints_the_log_of_a_refused_script(lua_available: None,
                                                    tmp_path: Path) -> None:
    (tmp_path / "float.lua").write_text("return function(x)\n  return x + 1.5\nend\n")
    res = subprocess.run([str(_binary("lua_run")), "float.lua"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert res.stdout == ""
    assert res.stderr == ("run:2: error: malformed number near '1.5'\n"
                          "lua_run: float.lua: Invalid argument\n")
    printed = "".join(f"  {line}\n" for line in res.stderr.splitlines())
    assert "  $ ./lua_run float.lua\n" + printed in _doc()


def test_lua_run_prints_warnings_and_runtime_errors(lua_available: None,
                                                    tmp_path: Path) -> None:
    (tmp_path / "typo.lua").write_text(
        "return function(x)\n  if x < 0 then return sys.getppdi() end\n"
        "  if x == 0 then error(\"zero\") end\n  return x * 2\nend\n")
    run = _binary("lua_run")
    res = subprocess.run([str(run), "typo.lua", "21"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "42\n"
    assert res.stderr.startswith("run:2: warning: sys.getppdi: no such system call\n")
    res = subprocess.run([str(run), "typo.lua", "0"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 1
    assert res.stderr.endswith("lua_run: typo.lua: run:3: zero (Exec format error)\n")


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def udp_echo(lua_available: None) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = _free_udp_port()
    proc = subprocess.Popen([str(_binary("udp_echo")), str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        assert line == f"udp_echo: port {port}, uid {NOBODY}\n", (
            line, proc.poll(), proc.stderr.read() if proc.poll() is not None and proc.stderr
            else "")
        yield proc, port
    finally:
        proc.kill()
        proc.wait()


def _status_uids(pid: int) -> list[int]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(v) for v in line.split()[1:]]
    raise AssertionError("no Uid line")


def _fdinfo(pid: int, name: str) -> dict[str, str]:
    """The fdinfo fields of the process's [luastate] named name."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        if os.readlink(fd) != "anon_inode:[luastate]":
            continue
        info = dict(line.split(":\t", 1) for line in
                    Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text().splitlines()
                    if ":\t" in line)
        if info.get("lua-name") == name:
            return info
    raise AssertionError(f"no [luastate] named {name} in process {pid}")


def test_udp_echo_echoes_every_size_whole(udp_echo: tuple[subprocess.Popen[str], int]) -> None:
    proc, port = udp_echo
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(30)
        for size in (1, 100, 1400, 8000, 65507):
            payload = bytes((i * 7 + size) % 256 for i in range(size))
            client.sendto(payload, ("127.0.0.1", port))
            echo, peer = client.recvfrom(70000)
            assert peer == ("127.0.0.1", port)
            assert len(echo) == size
            assert echo == payload, f"{size}-byte datagram changed"
    assert proc.poll() is None, "the server stopped"


def test_udp_echo_answers_a_burst_in_batches(udp_echo: tuple[subprocess.Popen[str], int]) -> None:
    """Datagrams sent together come back, each from its own sender, all of them."""
    proc, port = udp_echo
    clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(20)]
    try:
        for i, c in enumerate(clients):
            c.settimeout(30)
            c.sendto(f"datagram {i}".encode() * (i + 1), ("127.0.0.1", port))
        for i, c in enumerate(clients):
            assert c.recv(70000) == f"datagram {i}".encode() * (i + 1)
    finally:
        for c in clients:
            c.close()
    info = _fdinfo(proc.pid, "udp_echo")
    # fdinfo counts a call once it returns: the receives of all 20 datagrams at least.
    assert int(info["lua-nested-syscalls"]) >= 20
    assert int(info["lua-invocations"]) >= 2


def test_udp_echo_serves_after_dropping_privileges(
        udp_echo: tuple[subprocess.Popen[str], int]) -> None:
    """Registered as root, serving as nobody: the state keeps working."""
    proc, port = udp_echo
    if os.getuid() != 0:
        pytest.skip("the guest tests run as root")
    assert _status_uids(proc.pid) == [NOBODY] * 4
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(30)
        client.sendto(b"still here", ("127.0.0.1", port))
        assert client.recv(100) == b"still here"
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM
