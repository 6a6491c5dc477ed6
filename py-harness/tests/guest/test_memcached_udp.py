"""memcached end to end: SETs over TCP (pymemcache), 1,000 GETs over UDP checked by the
scapy layer, for every UDP path of the patched memcached (stock, mmsg, uring, lua with and
without the in-script wait, batch 16 and 1); replies byte-identical."""

import os
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from lua_syscall_harness import memcache_udp
from lua_syscall_harness.memcached_build import binary
from lua_syscall_harness.memcached_server import (
    VALUE_SIZES,
    VARIANTS,
    Server,
    Variant,
    key,
    udp_get_many,
    value,
)

KEYS_PER_SIZE = 40
GETS = 1000
# every benchmark variant, and the lua path that returns to libevent at once
TEST_VARIANTS = {**VARIANTS, "lua-nowait": Variant("lua-nowait", "lua", 16, wait_ms=0)}


def lua_invocations(pid: int) -> int | None:
    """lua-invocations of the process's [luastate] fd, from fdinfo; None if it has none."""
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target == "anon_inode:[luastate]":
            for line in Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines():
                if line.startswith("lua-invocations:"):
                    return int(line.split()[1])
    return None


def requested_keys() -> list[str]:
    """Every size (4096-byte values take three datagrams), plus keys that do not exist."""
    keys = []
    for i in range(GETS):
        if i % 10 == 9:
            keys.append(f"missing:{i}")
        else:
            size = VALUE_SIZES[i % len(VALUE_SIZES)]
            keys.append(key(size, i % KEYS_PER_SIZE))
    return keys


@pytest.fixture(scope="module")
def replies_by_variant(lua_available) -> dict[str, dict[int, list[bytes]]]:
    if not binary().exists():
        pytest.fail(f"{binary()} is missing: the suite builds it before the guest boot")
    keys = requested_keys()
    out = {}
    for port, variant in enumerate(TEST_VARIANTS.values(), start=23000):
        server = Server(variant, port, cpu=None)
        server.start()
        try:
            server.load(VALUE_SIZES, KEYS_PER_SIZE)
            out[variant.name] = udp_get_many(port, keys)
            stats = server.stats()
            assert stats["udp_io"] == variant.udp_io
            if variant.udp_io == "stock":
                assert int(stats["udp_batch_exchanges"]) == 0
            else:
                assert int(stats["udp_batch_rx_datagrams"]) == GETS
                assert int(stats["udp_batch_tx_dropped"]) == 0
            calls = lua_invocations(server.pid)
            if variant.udp_io == "lua":
                assert calls is not None and calls > 0
                assert calls == int(stats["udp_batch_exchanges"])
            else:
                assert calls is None
        finally:
            server.stop()
    return out


@pytest.mark.parametrize("variant", list(TEST_VARIANTS))
def test_every_get_answered_correctly(replies_by_variant, variant):
    replies = replies_by_variant[variant]
    keys = requested_keys()
    assert sorted(replies) == list(range(GETS))
    for rid, k in enumerate(keys):
        payload = b"".join(d[memcache_udp.HEADER_SIZE:] for d in replies[rid])
        got = memcache_udp.parse_get_reply(payload)
        if k.startswith("missing:"):
            assert got == {}
        else:
            size, i = (int(x) for x in k[1:].split(":"))
            assert got == {k: (0, value(size, i))}
        # exactly the datagrams a stock server must send for that payload
        assert replies[rid] == memcache_udp.split_reply(payload, rid)


def test_multi_datagram_replies_were_exercised(replies_by_variant):
    assert max(len(d) for d in replies_by_variant["stock"].values()) == 3


@pytest.mark.parametrize("variant", [v for v in TEST_VARIANTS if v != "stock"])
def test_replies_byte_identical_to_stock(replies_by_variant, variant):
    assert replies_by_variant[variant] == replies_by_variant["stock"]


@pytest.mark.parametrize("batch", [16, 1])
def test_lua_waits_in_the_script_at_low_load(lua_available, batch):
    """One request at a time: the script sends the reply, waits for the next request in
    libevent's epoll instance and receives it in the same crossing, so about one
    lua_syscall per GET and no other system call of memcached's worker in between; TCP
    (another descriptor of the same thread) is still served while UDP requests wait."""
    variant = replace(VARIANTS["lua"], name=f"lua-wait-b{batch}", batch=batch, wait_ms=50)
    port = 23090 + batch
    server = Server(variant, port, cpu=None)
    server.start()
    try:
        server.load((64,), KEYS_PER_SIZE)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect(("127.0.0.1", port))
        sock.settimeout(20)
        gets = 60
        try:
            for i in range(gets):
                sock.send(memcache_udp.get_request(key(64, i % KEYS_PER_SIZE), i))
                reply = sock.recv(2048)
                assert int.from_bytes(reply[:2], "big") == i
                if i == gets // 2:
                    # the worker is waiting in the script: TCP must still get through
                    assert int(server.stats()["udp_batch_rx_datagrams"]) == i + 1
        finally:
            sock.close()
        stats = server.stats()
        calls = lua_invocations(server.pid)
        assert int(stats["udp_batch_rx_datagrams"]) == gets
        assert int(stats["udp_batch_waits"]) >= gets // 2
        # one crossing per GET, plus a few: the first receive, the yields every
        # reqs_per_event exchanges, and the stats requests over TCP
        assert calls is not None and calls <= gets * 1.5
    finally:
        server.stop()
