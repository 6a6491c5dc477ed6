// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD shim for memaslap (memcaslap -U): ignore SO_REUSEADDR on UDP
 * sockets.
 *
 * memaslap sets SO_REUSEADDR on each of its UDP client sockets and never
 * binds them; the first sendmsg() then binds an ephemeral port.  Linux does
 * not count a port held by another SO_REUSEADDR socket as taken when it
 * picks one, so two of memaslap's sockets can end up on the same port (with
 * 128 sockets, a few runs in ten).  The server's replies to both then reach
 * one of them, which aborts on the other's request id
 * (ms_sort_udp_packet: `req_id == c->request_id % (1 << 16)`), whatever the
 * server.  Without the option every socket gets a port of its own.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>

typedef int (*setsockopt_fn)(int, int, int, const void *, socklen_t);

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static setsockopt_fn real;
	int type = 0;
	socklen_t tlen = sizeof(type);

	if (!real)
		real = (setsockopt_fn)dlsym(RTLD_NEXT, "setsockopt");
	if (level == SOL_SOCKET && name == SO_REUSEADDR &&
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 &&
	    type == SOCK_DGRAM)
		return 0;
	return real(fd, level, name, val, len);
}
