/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lua_syscall: system call scripting.
 *
 * register_lua_syscall(script, len, flags) compiles a Lua 5.4 chunk (source
 * text) into a new state, runs its top level once and returns a file
 * descriptor for the function the chunk returns (its entry).
 * lua_syscall(fd, args, nargs, flags) calls the entry with nargs integers;
 * the script may call system calls of the caller's context, so many system
 * calls cost one kernel crossing.  See
 * Documentation/userspace-api/lua_syscall.rst.
 */
#ifndef _UAPI_LINUX_LUA_SYSCALL_H
#define _UAPI_LINUX_LUA_SYSCALL_H

/* register_lua_syscall() flags; not O_CLOEXEC's value, which is per arch. */
#define LUA_SYSCALL_CLOEXEC	0x1

/* The most arguments lua_syscall() passes to the entry. */
#define LUA_SYSCALL_MAX_ARGS	16

#endif /* _UAPI_LINUX_LUA_SYSCALL_H */
