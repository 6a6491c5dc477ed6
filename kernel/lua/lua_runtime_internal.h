/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals of the in-kernel Lua runtime, shared by its glue files.
 */
#ifndef _KERNEL_LUA_RUNTIME_INTERNAL_H
#define _KERNEL_LUA_RUNTIME_INTERNAL_H

#include <linux/lua_runtime.h>
#include <linux/sched.h>
#include <linux/types.h>

#include "lua.h"

/**
 * struct lua_runtime - a bounded Lua state
 * @ticks:	API calls until the next luak_tick(); the allocator's opaque
 *		pointer points here
 * @L:		the main thread
 * @running:	the thread of the innermost protected call, or NULL
 * @abort:	0, or why the current call is being aborted (-ETIME, -EINTR,
 *		-ESHUTDOWN); every later check and API call raises it again
 * @mem_failed: an allocation failed during the current call
 * @mem_used:	bytes allocated
 * @mem_peak:	most bytes allocated at once
 * @mem_limit:	memory budget
 * @soft_ncalls: count of nested C calls at which the current call went
 *		below LUAK_STACK_SOFT, or 0
 * @call_insns:	instructions charged to the current call
 * @alloc_bytes: bytes allocated since they were last charged as collector
 *		work (see LUAK_GC_BYTES_PER_INSN)
 * @insn_limit:	per-call instruction budget
 * @insns:	instructions charged to all calls
 * @calls:	loads and protected calls
 * @stack_entry: stack pointer at the start of the current call
 * @stack_low:	lowest stack pointer seen by the C-call checks in the call
 * @stack_max:	deepest stack use below a call's entry seen so far
 * @outer_call: the task's call this one runs in, if any (normally none)
 * @errmsg:	message of the last failed call
 */
struct lua_runtime {
	struct luak_ticks ticks;
	struct lua_State *L;
	struct lua_State *running;
	int abort;
	bool mem_failed;
	size_t mem_used;
	size_t mem_peak;
	size_t mem_limit;
	unsigned int soft_ncalls;
	u64 call_insns;
	size_t alloc_bytes;
	u64 insn_limit;
	u64 insns;
	u64 calls;
	unsigned long stack_entry;
	unsigned long stack_low;
	size_t stack_max;
	struct lua_runtime *outer_call;
	char errmsg[LUA_RUNTIME_ERRLEN];
};

struct lua_runtime *luak_runtime(lua_State *L);
int luak_open_libs(lua_State *L, void *arg);
void luak_charge(lua_State *L, u64 insns);

/*
 * The garbage collector's work is proportional to the memory allocated
 * (each step of the incremental collector pays off an allocation debt) and
 * runs inside VM instructions and API calls that count as one: charge it to
 * the instruction budget as one instruction per this many bytes allocated,
 * about what marking and sweeping them costs next to a VM instruction.
 */
#define LUAK_GC_BYTES_PER_INSN	16

/*
 * Byte loops in C (comparing, searching, decoding strings) are charged as
 * one instruction per this many bytes they touch.
 */
#define LUAK_BYTES_PER_INSN	16

/*
 * ldo.h's, which only builds with LUA_CORE: unwind to the innermost
 * protected call like lua_error(), but without running a message handler.
 */
void __noreturn luaD_throw(lua_State *L, int errcode);

/* lstrlib.c's lua_topointer, luaL_checknumber and lua_pushnumber (Makefile) */
const void *luak_topointer(lua_State *L, int idx);
LUA_NUMBER luak_checkfloat(lua_State *L, int arg);
void luak_pushfloat(lua_State *L, LUA_NUMBER n);

#endif /* _KERNEL_LUA_RUNTIME_INTERNAL_H */
