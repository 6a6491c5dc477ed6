"""A scapy layer for memcached's UDP frame, and helpers to build requests and check replies.

Frame (memcached protocol.txt, "UDP protocol"): an 8-byte header of four big-endian u16s —
request id, sequence number, total datagrams, reserved — then at most 1392 bytes of the
text protocol. Replies longer than that come in several datagrams with the same request
id. memaslap puts 1 in the reserved field's first byte, so requests may carry it; replies
carry 0.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scapy.fields import ShortField
from scapy.layers.inet import UDP
from scapy.packet import Packet, Raw, bind_layers

HEADER_SIZE = 8
MAX_DATAGRAM = 1400
MAX_DATA = MAX_DATAGRAM - HEADER_SIZE
MEMASLAP_RESERVED = 0x0100  # byte 6 = 1, as memaslap sends
DEFAULT_PORT = 11211


class MemcacheUDP(Packet):
    name = "MemcacheUDP"
    fields_desc = [  # noqa: RUF012 (scapy's declarative API)
        ShortField("request_id", 0),
        ShortField("seq", 0),
        ShortField("total", 1),
        ShortField("reserved", 0),
    ]


bind_layers(UDP, MemcacheUDP, dport=DEFAULT_PORT)
bind_layers(UDP, MemcacheUDP, sport=DEFAULT_PORT)


class ReplyError(ValueError):
    """A reply that is not what memcached must send."""


def request(command: bytes, request_id: int, *, reserved: int = 0) -> bytes:
    """One single-datagram request frame carrying a text-protocol command."""
    if not command.endswith(b"\r\n"):
        raise ValueError("a text-protocol command ends with \\r\\n")
    if len(command) > MAX_DATA:
        raise ValueError(f"command of {len(command)} bytes does not fit one datagram")
    frame = MemcacheUDP(request_id=request_id, seq=0, total=1, reserved=reserved) / Raw(command)
    return bytes(frame)


def get_request(key: str, request_id: int, *, reserved: int = 0) -> bytes:
    return request(f"get {key}\r\n".encode(), request_id, reserved=reserved)


def split_reply(payload: bytes, request_id: int) -> list[bytes]:
    """The datagrams a server sends for payload (the reference the checks compare to)."""
    chunks = [payload[i:i + MAX_DATA] for i in range(0, len(payload), MAX_DATA)] or [b""]
    return [bytes(MemcacheUDP(request_id=request_id, seq=i, total=len(chunks)) / Raw(c))
            for i, c in enumerate(chunks)]


@dataclass
class Reassembler:
    """Collects reply datagrams by request id; complete() when all of one have come."""

    parts: dict[int, dict[int, bytes]]
    totals: dict[int, int]

    def __init__(self) -> None:
        self.parts = {}
        self.totals = {}

    def add(self, datagram: bytes) -> int | None:
        """Take one datagram; return its request id when that reply is now complete."""
        if len(datagram) < HEADER_SIZE:
            raise ReplyError(f"datagram of {len(datagram)} bytes has no header")
        if len(datagram) > MAX_DATAGRAM:
            raise ReplyError(f"datagram of {len(datagram)} bytes exceeds {MAX_DATAGRAM}")
        hdr = MemcacheUDP(datagram)
        rid, seq, total = hdr.request_id, hdr.seq, hdr.total
        if hdr.reserved != 0:
            raise ReplyError(f"reply {rid}: reserved field is {hdr.reserved:#x}, not 0")
        if total == 0 or seq >= total:
            raise ReplyError(f"reply {rid}: sequence {seq} of {total}")
        if self.totals.setdefault(rid, total) != total:
            raise ReplyError(f"reply {rid}: total changed from {self.totals[rid]} to {total}")
        got = self.parts.setdefault(rid, {})
        if seq in got:
            raise ReplyError(f"reply {rid}: duplicate sequence {seq}")
        if seq < total - 1 and len(datagram) != MAX_DATAGRAM:
            raise ReplyError(f"reply {rid}: datagram {seq} of {total} is short "
                             f"({len(datagram)} bytes)")
        got[seq] = datagram[HEADER_SIZE:]
        return rid if len(got) == total else None

    def payload(self, rid: int) -> bytes:
        got = self.parts[rid]
        if len(got) != self.totals[rid]:
            raise ReplyError(f"reply {rid}: {len(got)} of {self.totals[rid]} datagrams")
        return b"".join(got[i] for i in range(self.totals[rid]))


_VALUE = re.compile(rb"VALUE (\S+) (\d+) (\d+)\r\n")


def parse_get_reply(payload: bytes) -> dict[str, tuple[int, bytes]]:
    """key -> (flags, value) of a text-protocol GET reply; raises ReplyError if malformed."""
    out: dict[str, tuple[int, bytes]] = {}
    pos = 0
    while True:
        if payload[pos:] == b"END\r\n":
            return out
        m = _VALUE.match(payload, pos)
        if not m:
            raise ReplyError(f"unexpected reply text at {pos}: {payload[pos:pos + 40]!r}")
        size = int(m.group(3))
        start = m.end()
        if payload[start + size:start + size + 2] != b"\r\n":
            raise ReplyError(f"value of {m.group(1)!r} is not {size} bytes + CRLF")
        out[m.group(1).decode()] = (int(m.group(2)), payload[start:start + size])
        pos = start + size + 2


def write_corpus(path: Path, frames: Iterable[bytes]) -> int:
    """The load generator's request file: u16 little-endian length + frame, repeated."""
    n = 0
    with path.open("wb") as f:
        for frame in frames:
            f.write(struct.pack("<H", len(frame)) + frame)
            n += 1
    return n


def get_corpus(keys: list[str], *, reserved: int = MEMASLAP_RESERVED) -> list[bytes]:
    """GET frames for keys (request ids are rewritten by the load generator)."""
    return [get_request(k, i & 0xFFFF, reserved=reserved) for i, k in enumerate(keys)]
