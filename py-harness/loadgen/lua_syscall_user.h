/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two lua_syscall entry points the load tools use, on top of the
 * series' library (tools/lib/lua_syscall, compiled in by the Makefile).
 */
#ifndef LUA_SYSCALL_USER_H
#define LUA_SYSCALL_USER_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lua_syscall.h"

/* For the programs that make the system call themselves (the profiler). */
#ifndef __NR_register_lua_syscall
#define __NR_register_lua_syscall 463
#endif
#ifndef __NR_lua_syscall
#define __NR_lua_syscall 464
#endif

/* Register a script; its registration log goes to stderr. */
static inline int register_lua_syscall(const char *script)
{
	char log[4096];
	struct lua_syscall_opts opts = {
		.sz = sizeof(opts), .flags = LUA_SYSCALL_CLOEXEC,
		.log_buf = log, .log_size = sizeof(log),
	};
	int fd = lua_syscall_register(script, strlen(script), &opts);

	if (log[0])
		fputs(log, stderr);
	return fd;
}

static inline long lua_syscall(int fd, const uint64_t *args, unsigned int nargs)
{
	return lua_syscall_call(fd, args, nargs);
}

#endif
