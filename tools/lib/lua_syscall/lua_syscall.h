/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * liblua_syscall: register Lua scripts with the kernel and call them.
 *
 * Functions that return int or long return -1 and set errno on failure,
 * as the system calls they wrap do.  See
 * Documentation/userspace-api/lua_syscall.rst in the kernel tree.
 */
#ifndef __LIBLUA_SYSCALL_H
#define __LIBLUA_SYSCALL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#if defined(__has_include)
#if __has_include("linux/lua_syscall.h")
#include <linux/lua_syscall.h>
#endif
#endif

/* The uapi definitions, for systems whose headers predate them. */
#ifndef LUA_SYSCALL_REG_SIZE_VER0
#include <linux/types.h>

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

#define LUA_SYSCALL_REG_SIZE_VER0	72
#define LUA_SYSCALL_LOG_ERRORS		1
#define LUA_SYSCALL_LOG_WARNINGS	2
#define LUA_SYSCALL_NAME_MAX		32
#endif
#ifndef LUA_SYSCALL_CLOEXEC
#define LUA_SYSCALL_CLOEXEC		0x1
#endif
#ifndef LUA_SYSCALL_MAX_ARGS
#define LUA_SYSCALL_MAX_ARGS		16
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct lua_syscall_opts - optional arguments of lua_syscall_register()
 * @sz: sizeof(struct lua_syscall_opts), so that the library can grow it
 * @flags: LUA_SYSCALL_CLOEXEC, or 0
 * @name: a name for the state (fdinfo, messages), or NULL
 * @log_buf: a buffer for the registration log, or NULL
 * @log_size: its size
 * @log_level: LUA_SYSCALL_LOG_ERRORS or LUA_SYSCALL_LOG_WARNINGS; 0 with
 *	a @log_buf means LUA_SYSCALL_LOG_WARNINGS
 * @log_true_size: set by the call: the size the whole log needed
 * @insn_limit: instructions per call, 0 for the system's limit
 * @mem_limit: bytes of memory, 0 for the system's limit
 */
struct lua_syscall_opts {
	size_t sz;
	unsigned int flags;
	const char *name;
	char *log_buf;
	size_t log_size;
	unsigned int log_level;
	unsigned int log_true_size;
	uint64_t insn_limit;
	uint64_t mem_limit;
};

/*
 * 1 if the running kernel has the system calls, 0 if not; mainline kernels
 * since 6.13 give their provisional numbers to other calls, which this
 * tells apart.  Without the privilege to register, 1 if the kernel's
 * sysctls exist.
 */
int lua_syscall_supported(void);

/* Register a script: a file descriptor for its state, or -1. */
int lua_syscall_register(const char *script, size_t len,
			 struct lua_syscall_opts *opts);
/* The same, with the script read from a file. */
int lua_syscall_register_file(const char *path,
			      struct lua_syscall_opts *opts);

/* Call a state's entry with up to LUA_SYSCALL_MAX_ARGS integers. */
long lua_syscall_call(int fd, const uint64_t *args, unsigned int nargs);

/*
 * The message of the state's last call, "" after a success, into @buf
 * (NUL-terminated): its length, or -1.
 */
ssize_t lua_syscall_last_error(int fd, char *buf, size_t size);

/**
 * struct lua_syscall_info - what /proc/self/fdinfo tells about a state
 * @name: the state's name, "" without one
 * @invocations: lua_syscall() calls so far
 * @nested_syscalls: system calls its scripts made so far
 * @instructions: instructions charged to its calls so far (see the rst)
 * @mem_used: bytes allocated now
 * @mem_limit: its memory budget
 * @insn_limit: its per-call instruction budget
 * @last_errno: the errno of the last call, 0 after a success
 */
struct lua_syscall_info {
	char name[LUA_SYSCALL_NAME_MAX];
	uint64_t invocations;
	uint64_t nested_syscalls;
	uint64_t instructions;
	uint64_t mem_used;
	uint64_t mem_limit;
	uint64_t insn_limit;
	int last_errno;
};

/* Fill @info for the state open at @fd: 0, or -1. */
int lua_syscall_get_info(int fd, struct lua_syscall_info *info);

#ifdef __cplusplus
}
#endif

#endif /* __LIBLUA_SYSCALL_H */
