/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel Lua runtime: bounded Lua 5.4 states for kernel code.
 *
 * A state runs in process context on behalf of the current task.  It has a
 * memory budget (charged to the task's memory cgroup) and every call into
 * it has an instruction budget; a fatal signal stops it, and it stops a
 * deep C recursion with a Lua error long before the kernel stack runs out.
 * Numbers are 64-bit integers.  Scripts are source text only.
 *
 * A state is not thread safe: its user serialises the calls, which may
 * sleep, and does not nest them (a C function called by Lua must not call
 * into the same state through this API).  Between calls, the user may read results from and push
 * arguments to the Lua stack (lua_runtime_state()) with API functions that
 * do not allocate; anything else belongs in a function run by
 * lua_runtime_cpcall().  C functions given to the state must assume that
 * every Lua API call may raise an error, i.e. not return: they must hold no
 * lock, reference or allocation across one.  Lua stops nesting C calls
 * when half of the kernel stack is left: a C function that calls deep into
 * the kernel can check lua_runtime_stack_left() first.
 */
#ifndef _LINUX_LUA_RUNTIME_H
#define _LINUX_LUA_RUNTIME_H

#include <linux/errno.h>
#include <linux/sched/task_stack.h>
#include <linux/sizes.h>
#include <linux/types.h>

struct lua_State;
struct lua_runtime;

/* Errno of a Lua runtime error (error(), a failed operation, ...). */
#define LUA_RUNTIME_ERUNTIME	ENOEXEC

/* The size of the copy of the last error message; longer ones are cut. */
#define LUA_RUNTIME_ERRLEN	256

/**
 * struct lua_runtime_limits - budgets of a state
 * @mem_limit:	bytes the state may allocate, 0 for the default
 * @insn_limit:	instructions one call into the state may be charged (see
 *		struct lua_runtime_stats), 0 for the default
 */
struct lua_runtime_limits {
	size_t mem_limit;
	u64 insn_limit;
};

#define LUA_RUNTIME_DEFAULT_MEM		SZ_1M
#define LUA_RUNTIME_DEFAULT_INSNS	(10ULL * 1000 * 1000)

/**
 * struct lua_runtime_stats - counters of a state
 * @mem_used:	bytes allocated now
 * @mem_peak:	most bytes allocated at once
 * @mem_limit:	the memory budget
 * @insns:	instructions charged to all calls: each loop its body's length
 *		every time around, each function call the function's length,
 *		and library work (API calls, bytes, matcher steps)
 * @insn_limit:	the per-call instruction budget
 * @calls:	calls into the state (loads and protected calls)
 * @stack_max:	deepest kernel stack use below a call's entry, in bytes, as
 *		seen at the C-call checks
 */
struct lua_runtime_stats {
	size_t mem_used;
	size_t mem_peak;
	size_t mem_limit;
	u64 insns;
	u64 insn_limit;
	u64 calls;
	size_t stack_max;
};

#ifdef CONFIG_LUA

struct lua_runtime *lua_runtime_create(const struct lua_runtime_limits *limits);
void lua_runtime_destroy(struct lua_runtime *rt);
struct lua_State *lua_runtime_state(struct lua_runtime *rt);

int lua_runtime_load(struct lua_runtime *rt, const char *chunk, size_t len,
		     const char *name);
int lua_runtime_pcall(struct lua_runtime *rt, int nargs, int nresults);
int lua_runtime_call_integers(struct lua_runtime *rt, int index,
			      const s64 *args, unsigned int nargs);
int lua_runtime_cpcall(struct lua_runtime *rt,
		       int (*fn)(struct lua_State *L, void *arg), void *arg);

const char *lua_runtime_last_error(const struct lua_runtime *rt);
void lua_runtime_get_stats(const struct lua_runtime *rt,
			   struct lua_runtime_stats *stats);
int lua_runtime_abort(struct lua_State *L, int err);
bool lua_runtime_aborted(const struct lua_runtime *rt);

/**
 * lua_runtime_stack_left() - kernel stack left to the caller
 *
 * Inline: the Lua glue checks it before every nested system call.
 *
 * Return: the bytes of the current task's stack below the caller's frame,
 * or 0 when not running on it.
 */
static __always_inline size_t lua_runtime_stack_left(void)
{
	unsigned long sp = (unsigned long)__builtin_frame_address(0);
	unsigned long low = (unsigned long)task_stack_page(current);

	if (sp < low || sp >= low + THREAD_SIZE)
		return 0;
	return sp - low;
}

#endif /* CONFIG_LUA */

#endif /* _LINUX_LUA_RUNTIME_H */
