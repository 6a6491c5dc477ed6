"""The demo run inside the guest: system calls batched through lua_syscall.

1. N getppid() calls in one kernel crossing.
2. A UDP echo server that answers a batch of 16 datagrams in one crossing.
3. What the kernel reports: fdinfo and the lua_syscall_nested tracepoint.
"""

from __future__ import annotations

import ctypes
import os
import socket
import sys
from pathlib import Path

from . import binding

TRACING = Path("/sys/kernel/tracing")
EVENT = TRACING / "events/lua_syscall/lua_syscall_nested/enable"

GETPPID_BATCH = """
return function(n)
  local ppid = 0
  for _ = 1, n do ppid = sys.getppid() end
  return ppid
end
"""

# Receive what is queued (up to max datagrams) and echo each back to its sender.
UDP_ECHO = """
local MSG_DONTWAIT = 0x40
return function(fd, buf, size, addr, addrlen, max)
  local echoed = 0
  while echoed < max do
    mem.put32(addrlen, 16)
    local n = sys.recvfrom(fd, buf, size, MSG_DONTWAIT, addr, addrlen)
    if n < 0 then break end
    local sent = sys.sendto(fd, buf, n, 0, addr, mem.get32(addrlen))
    if sent < 0 then return sent end
    echoed = echoed + 1
  end
  return echoed
end
"""


def trace_count() -> int:
    text = (TRACING / "trace").read_text()
    return sum(1 for line in text.splitlines() if "lua_syscall_nested:" in line)


def main() -> int:
    if not binding.available():
        print("lua_syscall is not available in this kernel")
        return 1
    tracing = EVENT.exists()
    if tracing:
        (TRACING / "trace").write_text("")
        EVENT.write_text("1")

    with binding.LuaState(GETPPID_BATCH) as st:
        n = 1000
        ppid = st.call(n)
        print(f"1. {n} x getppid() in one lua_syscall(): ppid {ppid} "
              f"(os.getppid() says {os.getppid()})")
        assert ppid == os.getppid()

    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(5)
    batch = 16
    for i in range(batch):
        client.sendto(f"request {i}".encode(), server.getsockname())
    buf = ctypes.create_string_buffer(2048)
    addr = ctypes.create_string_buffer(16)
    addrlen = ctypes.c_uint32(16)
    with binding.LuaState(UDP_ECHO) as st:
        echoed = st.call(server.fileno(), ctypes.addressof(buf), len(buf),
                         ctypes.addressof(addr), ctypes.addressof(addrlen), batch)
        replies = sorted(client.recv(2048).decode() for _ in range(echoed))
        print(f"2. UDP echo: {echoed} datagrams received and answered in one "
              f"lua_syscall() ({2 * echoed} nested system calls); first reply "
              f"{replies[0]!r}")
        assert echoed == batch
        info = st.fdinfo()
        print("3. /proc/self/fdinfo of the state:")
        for key, value in info.items():
            if key.startswith("lua-"):
                print(f"     {key}: {value}")

    if tracing:
        EVENT.write_text("0")
        print(f"   tracepoint lua_syscall:lua_syscall_nested fired {trace_count()} times")
    return 0


if __name__ == "__main__":
    sys.exit(main())
