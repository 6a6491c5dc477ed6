"""The patched memcached on the host kernel: the stock and recvmmsg/sendmmsg paths answer
identically, and the load generator counts what it gets. (The lua path needs the
lua_syscall kernel: tests/guest/test_memcached_udp.py.)"""

import json
import subprocess

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
