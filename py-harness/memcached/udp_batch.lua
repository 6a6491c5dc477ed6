-- memcached UDP batching through lua_syscall (registered once at start-up).
--
-- One call is one user/kernel crossing: it sends the replies memcached built
-- since the last call (ntx datagrams, an array of struct mmsghdr at tx) and
-- receives up to nrx new requests into the mmsghdr array at rx.  The socket
-- is non-blocking (memcached waits in epoll), so no receive blocks.
--
-- With wait_ms > 0 (memcached's -o udp_wait_ms) and nothing queued, the call
-- waits for the next request instead of returning to memcached's epoll_wait:
-- epoll_wait on epfd, libevent's own (level-triggered) epoll instance of the
-- thread, for at most wait_ms, then receives.  Any other ready descriptor of
-- the thread also ends the wait; the receive then finds nothing, the call
-- returns 0 and memcached goes back to libevent, which sees the same events.
-- So a request at low load costs one crossing (reply + wait + receive)
-- instead of three (epoll_wait, receive, reply).  The wait argument is
-- wait_ms | first << 16: with first (memcached's rule: the last call saw the
-- socket empty) the script waits before the receive, which saves a receive
-- that would find nothing; a request that came meanwhile ends the wait at
-- once (level-triggered).  Without first it receives, and waits only if that
-- found nothing.
--
-- Returns received | sent << 16 | waited << 32 | calls << 40 (waited: the
-- script called epoll_wait; calls: the system calls it made, for memcached's
-- stats); a receive error other than EAGAIN or EINTR is passed through as
-- -errno.
-- The kernel's values, looked up once at registration (sys.const).  The
-- common paths test signs only: an equality with a variable is a call into
-- the VM's comparison, so the errno values are compared only when negative.
local K = sys.const
local NEG_EAGAIN, NEG_EINTR, MSG_DONTWAIT = -K.EAGAIN, -K.EINTR, K.MSG_DONTWAIT
local WAIT_EVENTS = 8 -- memcached's UDP_WAIT_EVENTS
local sendmmsg, recvmmsg, epoll_wait = sys.sendmmsg, sys.recvmmsg, sys.epoll_wait

return function(fd, rx, nrx, tx, ntx, epfd, events, wait)
  local sent, calls = 0, 0
  if ntx > 0 then
    sent = sendmmsg(fd, tx, ntx, 0)
    calls = 1
    if sent < 0 then
      sent = 0 -- dropped, as a full socket buffer drops UDP anyway
    end
  end
  local got, waited = 0, 0
  if nrx > 0 then
    wait = wait or 0
    local wait_ms = wait & 0xffff
    -- saw it empty last time: wait first
    local empty = wait_ms > 0 and wait >= 0x10000
    if not empty then
      got = recvmmsg(fd, rx, nrx, MSG_DONTWAIT, 0)
      calls = calls + 1
      empty = got < 0 and wait_ms > 0 and got == NEG_EAGAIN
    end
    if empty then
      waited = 1
      calls = calls + 1
      got = 0
      if epoll_wait(epfd, events, WAIT_EVENTS, wait_ms) > 0 then
        got = recvmmsg(fd, rx, nrx, MSG_DONTWAIT, 0)
        calls = calls + 1
      end
    end
    if got < 0 then
      if got ~= NEG_EAGAIN and got ~= NEG_EINTR then
        return got
      end
      got = 0
    end
  end
  return got | (sent << 16) | (waited << 32) | (calls << 40)
end
