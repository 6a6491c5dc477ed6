-- memcached UDP batching through lua_syscall (registered once at start-up).
--
-- One call is one user/kernel crossing: it sends the replies memcached built
-- since the last call (ntx datagrams, an array of struct mmsghdr at tx) and
-- receives up to nrx new requests into the mmsghdr array at rx.  The socket
-- is non-blocking (memcached waits in epoll), so no receive blocks.
--
-- Returns received | sent << 16; a receive error other than EAGAIN is passed
-- through as -errno.
local EAGAIN = 11
local MSG_DONTWAIT = 0x40
local sendmmsg, recvmmsg = sys.sendmmsg, sys.recvmmsg

return function(fd, rx, nrx, tx, ntx)
  local sent = 0
  if ntx > 0 then
    sent = sendmmsg(fd, tx, ntx, 0)
    if sent < 0 then
      sent = 0 -- dropped, as a full socket buffer drops UDP anyway
    end
  end
  local got = 0
  if nrx > 0 then
    got = recvmmsg(fd, rx, nrx, MSG_DONTWAIT, 0)
    if got == -EAGAIN then
      got = 0
    elseif got < 0 then
      return got
    end
  end
  return got | (sent << 16)
end
