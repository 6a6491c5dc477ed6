/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The libraries a lua_syscall script sees beyond the runtime's: sys (system
 * calls of the caller's context) and mem (the caller's memory).
 */
#ifndef _KERNEL_LUA_SYSCALL_LIBS_H
#define _KERNEL_LUA_SYSCALL_LIBS_H

#include <linux/lua_runtime.h>
#include <linux/lua_syscall.h>
#include <linux/ptrace.h>
#include <linux/sched/signal.h>
#include <linux/thread_info.h>
#include <linux/types.h>

#include "lua.h"

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
 * @rt: the runtime of the state
 * @abort_errno: when set, the whole call fails with this errno, even if the
 *	script caught the error it raised (a fault in mem.*, a seccomp kill)
 * @abort_msg: the message that goes with @abort_errno
 * @exit_signal: seccomp killed the calling thread: do_exit() with this
 *	signal once unwound
 * @id: the state's identity, for the tracepoint and fdinfo
 * @name: the state's name, "" without one
 * @nested: nested system calls made by all calls of the state so far
 * @frame_ready: @frame holds the running call's user register frame
 * @frame: the register frame of the nested system calls: a copy of the
 *	task's own, made at the first nested call of each lua_syscall()
 * @args: the arguments of the nested call being made; those from
 *	@args_set on are 0.  In the state's memory, not on the stack, where
 *	the compiler would clear them on every call (a rep stos).
 * @args_set: how many of @args the last nested call set
 */
struct lua_syscall_ctx {
	struct lua_runtime *rt;
	int abort_errno;
	char abort_msg[LUA_SYSCALL_ABORT_MSGLEN];
	int exit_signal;
	u64 id;
	const char *name;
	u64 nested;
	bool frame_ready;
	struct pt_regs frame;
	unsigned long args[LUA_SYSCALL_NR_ARGS];
	int args_set;
};

/* The context of the state's calls, kept in the Lua state's extra space. */
static inline struct lua_syscall_ctx *lua_syscall_ctx(struct lua_State *L)
{
	return *(struct lua_syscall_ctx **)lua_getextraspace(L);
}

void lua_syscall_open_libs(struct lua_State *L, struct lua_syscall_ctx *ctx);

void lua_syscall_ctx_begin(struct lua_syscall_ctx *ctx);
int lua_syscall_ctx_end(struct lua_syscall_ctx *ctx, int err,
			const char **msg);

int lua_syscall_abort(struct lua_State *L, struct lua_syscall_ctx *ctx,
		      int err, const char *fmt, ...) __printf(4, 5);

int lua_syscall_stack_error(struct lua_State *L);

/* Before a nested system call or a user memory access. */
static inline void lua_syscall_check_stack(struct lua_State *L)
{
	if (unlikely(lua_runtime_stack_left() < LUA_SYSCALL_STACK_NEEDED))
		lua_syscall_stack_error(L);
}

int lua_syscall_stop(struct lua_State *L, struct lua_syscall_ctx *ctx);

/*
 * Before a nested system call or a user memory access: a stopped call (the
 * budget, a fatal signal, a seccomp kill, a mem fault) makes neither, not
 * even from a __close handler that runs while it unwinds or through a
 * function a script cached before the stop.  A task with a fatal signal
 * pending makes no further system call either.
 */
static inline bool lua_syscall_stopped(const struct lua_syscall_ctx *ctx)
{
	return lua_runtime_aborted(ctx->rt) || fatal_signal_pending(current);
}

static inline void lua_syscall_check_running(struct lua_State *L,
					     struct lua_syscall_ctx *ctx)
{
	if (unlikely(lua_syscall_stopped(ctx)))
		lua_syscall_stop(L, ctx);
}

int lua_syscall_open_sys(struct lua_State *L);
int lua_syscall_open_mem(struct lua_State *L);

int lua_syscall_open_sysconst(struct lua_State *L);

bool lua_syscall_sys_has(const char *name);
bool lua_syscall_sysconst_has(const char *name);
int lua_syscall_check_chunk(struct lua_State *L,
			    void (*warn)(void *arg, int line,
					 const char *table, const char *name),
			    void *arg);

#endif /* _KERNEL_LUA_SYSCALL_LIBS_H */
