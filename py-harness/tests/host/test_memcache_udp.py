"""The scapy layer for memcached UDP frames: building requests, checking replies."""

import struct

import pytest
from scapy.layers.inet import IP, UDP

from lua_syscall_harness import memcache_udp as m


def test_get_request_frame_layout():
    frame = m.get_request("k1", 0x1234, reserved=m.MEMASLAP_RESERVED)
    assert frame == b"\x12\x34\x00\x00\x00\x01\x01\x00get k1\r\n"


def test_layer_dissects_on_memcached_port():
    pkt = IP(bytes(IP() / UDP(sport=40000, dport=11211) / m.get_request("a", 7)))
    assert pkt[m.MemcacheUDP].request_id == 7
    assert pkt[m.MemcacheUDP].total == 1


def test_request_refuses_oversize_and_unterminated():
    with pytest.raises(ValueError):
        m.request(b"get k", 1)
    with pytest.raises(ValueError):
        m.request(b"x" * m.MAX_DATA + b"\r\n", 1)


def test_split_and_reassemble_multi_datagram_reply():
    payload = b"VALUE k 0 3000\r\n" + bytes(range(256)) * 11 + b"x" * 184 + b"\r\nEND\r\n"
    datagrams = m.split_reply(payload, 9)
    assert [len(d) for d in datagrams[:-1]] == [m.MAX_DATAGRAM] * (len(datagrams) - 1)
    asm = m.Reassembler()
    done = [asm.add(d) for d in reversed(datagrams)]  # any order
    assert done[:-1] == [None] * (len(datagrams) - 1) and done[-1] == 9
    assert asm.payload(9) == payload
    assert m.parse_get_reply(payload) == {"k": (0, payload[16:16 + 3000])}


@pytest.mark.parametrize("mangle, message", [
    (lambda d: d[:4] + b"\x00\x00" + d[6:], "sequence"),          # total 0
    (lambda d: d[:6] + b"\x01\x00" + d[8:], "reserved"),          # replies carry 0
    (lambda d: d[:2] + b"\x00\x05" + d[4:], "sequence 5 of 3"),   # seq >= total
    (lambda d: d[:20], "short"),                                  # non-last too short
    (lambda d: d[:5], "no header"),
])
def test_reassembler_rejects_bad_datagrams(mangle, message):
    datagrams = m.split_reply(b"x" * 3000, 1)
    with pytest.raises(m.ReplyError, match=message):
        m.Reassembler().add(mangle(datagrams[0]))


def test_reassembler_rejects_duplicates_and_changed_totals():
    datagrams = m.split_reply(b"x" * 3000, 1)
    asm = m.Reassembler()
    asm.add(datagrams[0])
    with pytest.raises(m.ReplyError, match="duplicate"):
        asm.add(datagrams[0])
    other = datagrams[1][:4] + struct.pack(">H", 4) + datagrams[1][6:]
    with pytest.raises(m.ReplyError, match="total changed"):
        asm.add(other)
    with pytest.raises(m.ReplyError, match="1 of 3"):
        asm.payload(1)


@pytest.mark.parametrize("payload", [
    b"VALUE k 0 5\r\nhello\r\n",                 # no END
    b"VALUE k 0 6\r\nhello\r\nEND\r\n",          # length mismatch
    b"SERVER_ERROR out of memory\r\n",
])
def test_parse_get_reply_rejects_malformed(payload):
    with pytest.raises(m.ReplyError):
        m.parse_get_reply(payload)


def test_parse_get_reply_miss_and_hit():
    assert m.parse_get_reply(b"END\r\n") == {}
    assert m.parse_get_reply(b"VALUE a 3 2\r\nhi\r\nEND\r\n") == {"a": (3, b"hi")}


def test_corpus_file_records(tmp_path):
    frames = m.get_corpus(["a", "bb"])
    path = tmp_path / "c.bin"
    assert m.write_corpus(path, frames) == 2
    data = path.read_bytes()
    n = struct.unpack_from("<H", data)[0]
    assert data[2:2 + n] == frames[0]
    assert frames[0][6] == 1  # memaslap's reserved byte
    assert data[2 + n + 2:] == frames[1]
