/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lua_syscall: system call scripting.
 *
 * register_lua_syscall(reg, size) compiles a Lua 5.4 chunk (source text)
 * into a new state, runs its top level once and returns a file descriptor
 * for the function the chunk returns (its entry).  lua_syscall(fd, args,
 * nargs, flags) calls the entry with nargs integers; the script may call
 * system calls of the caller's context, so many system calls cost one
 * kernel crossing.  See Documentation/userspace-api/lua_syscall.rst.
 */
#ifndef _UAPI_LINUX_LUA_SYSCALL_H
#define _UAPI_LINUX_LUA_SYSCALL_H

#include <linux/types.h>

/**
 * struct lua_syscall_reg - arguments of register_lua_syscall()
 * @script:	   address of the chunk's source text
 * @script_len:	   its length in bytes; it needs no terminating NUL
 * @flags:	   LUA_SYSCALL_CLOEXEC, or 0
 * @log_buf:	   address of a buffer for the log, or 0
 * @log_size:	   its size in bytes, or 0
 * @log_level:	   what the log receives: LUA_SYSCALL_LOG_ERRORS, with
 *		   LUA_SYSCALL_LOG_WARNINGS also warnings, or 0 for nothing
 * @log_true_size: written back with a log level: the bytes the whole log
 *		   needs, its terminating NUL included
 * @reserved:	   must be 0
 * @name:	   address of a NUL-terminated name for the state, shown in
 *		   fdinfo and error messages (letters, digits, '_', '.', '-';
 *		   at most LUA_SYSCALL_NAME_MAX - 1 bytes), or 0
 * @insn_limit:	   instructions one call may run; 0 for
 *		   kernel.lua_syscall.insn_limit, which is also the most
 * @mem_limit:	   bytes the state may allocate; 0 for
 *		   kernel.lua_syscall.mem_limit, which is also the most
 *
 * The structure grows at its end; the kernel takes any size from
 * LUA_SYSCALL_REG_SIZE_VER0 up and requires bytes it does not know to be 0.
 */
struct lua_syscall_reg {
	__aligned_u64 script;
	__aligned_u64 script_len;
	__aligned_u64 flags;
	__aligned_u64 log_buf;
	__u32 log_size;
	__u32 log_level;
	__u32 log_true_size;
	__u32 reserved;
	__aligned_u64 name;
	__aligned_u64 insn_limit;
	__aligned_u64 mem_limit;
};

#define LUA_SYSCALL_REG_SIZE_VER0	72	/* sizeof first published struct */

/* lua_syscall_reg.flags; not O_CLOEXEC's value, which is per arch. */
#define LUA_SYSCALL_CLOEXEC	0x1

/* lua_syscall_reg.log_level */
#define LUA_SYSCALL_LOG_ERRORS		1	/* why the script was refused */
#define LUA_SYSCALL_LOG_WARNINGS	2	/* and what looks wrong in it */

/* The size of a state's name, its NUL included. */
#define LUA_SYSCALL_NAME_MAX	32

/* The most arguments lua_syscall() passes to the entry. */
#define LUA_SYSCALL_MAX_ARGS	16

#endif /* _UAPI_LINUX_LUA_SYSCALL_H */
