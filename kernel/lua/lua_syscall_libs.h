/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The libraries a lua_syscall script sees beyond the runtime's: sys (system
 * calls of the caller's context) and mem (the caller's memory).
 */
#ifndef _KERNEL_LUA_SYSCALL_LIBS_H
#define _KERNEL_LUA_SYSCALL_LIBS_H

#include <linux/thread_info.h>
#include <linux/types.h>

struct lua_State;

#define LUA_SYSCALL_ABORT_MSGLEN	96

/*
 * The kernel stack a nested system call or a user memory access needs at
 * least: as much as the deepest paths a script can reach (a send over
 * loopback through netfilter, a page fault in a file-backed mapping) use,
 * with room to spare.  A deeper script gets a Lua error instead.
 */
#define LUA_SYSCALL_STACK_NEEDED	(THREAD_SIZE * 5 / 8)

/**
 * struct lua_syscall_ctx - state of the running call, shared with the libs
 * @abort_errno: when set, the whole call fails with this errno, even if the
 *	script caught the error it raised (a fault in mem.*, a seccomp kill)
 * @abort_msg: the message that goes with @abort_errno
 * @exit_signal: seccomp killed the calling thread: do_exit() with this
 *	signal once unwound
 * @nested: nested system calls made by all calls of the state so far
 */
struct lua_syscall_ctx {
	int abort_errno;
	char abort_msg[LUA_SYSCALL_ABORT_MSGLEN];
	int exit_signal;
	u64 nested;
};

void lua_syscall_open_libs(struct lua_State *L, struct lua_syscall_ctx *ctx);

void lua_syscall_ctx_begin(struct lua_syscall_ctx *ctx);
int lua_syscall_ctx_end(struct lua_syscall_ctx *ctx, int err,
			const char **msg);

int lua_syscall_abort(struct lua_State *L, struct lua_syscall_ctx *ctx,
		      int err, const char *fmt, ...) __printf(4, 5);

void lua_syscall_check_stack(struct lua_State *L);

int lua_syscall_open_sys(struct lua_State *L);
int lua_syscall_open_mem(struct lua_State *L);

#endif /* _KERNEL_LUA_SYSCALL_LIBS_H */
