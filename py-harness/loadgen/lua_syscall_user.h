/* SPDX-License-Identifier: GPL-2.0 */
/* The two lua_syscall entry points, for programs built against the host's headers. */
#ifndef LUA_SYSCALL_USER_H
#define LUA_SYSCALL_USER_H

#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_register_lua_syscall
#define __NR_register_lua_syscall 463
#endif
#ifndef __NR_lua_syscall
#define __NR_lua_syscall 464
#endif
#define LUA_SYSCALL_CLOEXEC 0x1

static inline int register_lua_syscall(const char *script)
{
	return syscall(__NR_register_lua_syscall, script, strlen(script), LUA_SYSCALL_CLOEXEC);
}

static inline long lua_syscall(int fd, const uint64_t *args, unsigned int nargs)
{
	return syscall(__NR_lua_syscall, fd, args, nargs, 0);
}

#endif
