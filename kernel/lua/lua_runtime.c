// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel Lua runtime: bounded Lua 5.4 states, see
 * <linux/lua_runtime.h>.
 *
 * The Lua core is imported unmodified; luaconf.h routes its configuration
 * points here:
 *
 * - errors: LUAI_TRY/LUAI_THROW use the arch setjmp (<asm/lua_setjmp.h>).
 *   A jump unpoisons the KASAN shadow of the frames it skips, and every
 *   protected call records which Lua thread it runs, so that an error is
 *   only ever raised on the thread that owns the innermost handler.
 * - memory: luak_alloc() charges a byte budget; __GFP_ACCOUNT charges the
 *   task's memory cgroup as well.
 * - time: the VM charges every loop its body's length each time around
 *   and every Lua function call the function's length (luai_chargecode),
 *   a bound on the instructions it runs without a count per instruction;
 *   luak_charge_due() runs every LUAK_CHECK_PERIOD of them.  lua_lock(),
 *   taken by every API function, counts API calls so that C loops in the
 *   libraries are charged too.  Both reschedule, stop on a fatal signal
 *   and enforce the per-call instruction budget.  Once a call is aborted,
 *   each later check and API call raises the error again, so a script's
 *   pcall() cannot swallow it.
 * - kernel stack: LUAI_MAXCCALLS, the core's limit on nested C calls, is
 *   luak_cstack_limit(): a low static limit, and a Lua error as soon as
 *   the remaining stack is below LUAK_STACK_SOFT.  The core checks it on
 *   every call through C, in the parser and on coroutine resume; the
 *   pattern matcher of the string library checks it too (see luaconf.h).
 *
 * It is part of the core (LUA_CORE): lua_runtime_call_integers() sets a
 * call up on the Lua stack itself.
 */
#define LUA_CORE

#include <linux/kasan.h>
#include <linux/kernel.h>
#include <linux/lua_runtime.h>
#include <linux/mm.h>
#include <linux/once.h>
#include <linux/percpu.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/siphash.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "lua.h"
#include "lauxlib.h"
#include "ldo.h"
#include "lgc.h"
#include "lstate.h"
#include "lua_runtime_internal.h"

/*
 * A call into Lua stops nesting C calls when less than this is left of the
 * kernel stack: half of it stays for the kernel code a C function may call
 * and for error handling...
 */
#define LUAK_STACK_SOFT		(THREAD_SIZE / 2)
/* ...and below this, not even an error handler may run. */
#define LUAK_STACK_HARD		(THREAD_SIZE / 4)
/*
 * The string library's pattern matcher stops a little lower: a recursion
 * through its Lua callbacks (gsub) then meets the core's check, with the
 * core's error, before any test of the library that would raise its own.
 */
#define LUAK_STACK_STRLIB	(LUAK_STACK_SOFT - THREAD_SIZE / 16)

#define LUAK_CHECK_PERIOD	500
#define LUAK_TICK_BATCH		256

#define LUAK_GFP		(GFP_KERNEL_ACCOUNT | __GFP_NOWARN)

static DEFINE_PER_CPU(unsigned int, luak_strlib_ticks);

static inline struct lua_runtime *luak_from_ud(void *ud)
{
	return container_of((struct luak_ticks *)ud, struct lua_runtime, ticks);
}

struct lua_runtime *luak_runtime(lua_State *L)
{
	void *ud;

	lua_getallocf(L, &ud);
	return luak_from_ud(ud);
}

/* --- memory ------------------------------------------------------------ */

static void *luak_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct lua_runtime *rt = luak_from_ud(ud);
	void *p;

	if (!ptr)
		osize = 0;	/* then it is the type of the new object */

	if (!nsize) {
		kvfree(ptr);
		rt->mem_used -= osize;
		return NULL;
	}

	if (nsize <= osize) {
		/*
		 * Lua requires that shrinking never fails.  Move a large
		 * block to a smaller one if that is possible, else keep it.
		 */
		if (osize > PAGE_SIZE && nsize <= osize / 2) {
			p = kvmalloc(nsize, LUAK_GFP);
			if (p) {
				memcpy(p, ptr, nsize);
				kvfree(ptr);
				ptr = p;
			}
		}
		rt->mem_used -= osize - nsize;
		return ptr;
	}

	/*
	 * Over budget: Lua runs a full collection, retries, then raises.
	 * That collection traverses the whole heap: charge it, or a script
	 * at its memory limit would collect on every allocation for free.
	 */
	if (nsize - osize > rt->mem_limit - rt->mem_used) {
		rt->mem_failed = true;
		rt->alloc_bytes += rt->mem_used;
		return NULL;
	}

	p = kvrealloc(ptr, nsize, LUAK_GFP);
	if (!p) {
		rt->mem_failed = true;
		rt->alloc_bytes += rt->mem_used;
		return NULL;
	}
	rt->mem_used += nsize - osize;
	rt->mem_peak = max(rt->mem_peak, rt->mem_used);
	/* charged by the next check: an allocator must not raise */
	rt->alloc_bytes += nsize - osize;
	return p;
}

/* --- errors ------------------------------------------------------------ */

struct lua_State *luak_try_enter(void *ud, struct lua_State *L)
{
	struct lua_runtime *rt = luak_from_ud(ud);
	struct lua_State *prev = rt->running;

	rt->running = L;
	return prev;
}

void luak_try_leave(void *ud, struct lua_State *prev)
{
	luak_from_ud(ud)->running = prev;
}

void __noreturn luak_throw(struct lua_jmp_buf *buf)
{
	/*
	 * The frames skipped by the jump never return, so they never clear
	 * their KASAN stack redzones: clear everything below the target.
	 */
	kasan_unpoison_task_stack_below((void *)lua_jmp_buf_sp(buf));
	lua_longjmp(buf, 1);
}

static const char *luak_abort_msg(int err)
{
	switch (err) {
	case -ETIME:
		return "instruction budget exceeded";
	case -EINTR:
		return "interrupted by a fatal signal";
	case -ESHUTDOWN:
		return "state is being closed";
	default:
		return "call aborted";
	}
}

/*
 * Raise the abort error on the running thread; does not return.  It
 * leaves room for its own API call; every later one raises again.
 *
 * The error is thrown past any message handler of xpcall(): the call is
 * over, and a handler is Lua code that would be stopped again.
 */
static void luak_raise_abort(struct lua_State *L, struct lua_runtime *rt)
{
	rt->ticks.left = 1;
	lua_pushstring(L, luak_abort_msg(rt->abort));
	luaD_throw(L, LUA_ERRRUN);
}

/* Charge @insns to the call; reschedule; decide whether to abort it. */
static bool luak_check(struct lua_runtime *rt, u64 insns)
{
	if (rt->abort)
		return true;
	insns += rt->alloc_bytes / LUAK_GC_BYTES_PER_INSN;
	rt->alloc_bytes %= LUAK_GC_BYTES_PER_INSN;
	rt->call_insns += insns;
	rt->insns += insns;
	/*
	 * Only a fatal signal stops a call: any other one interrupts the
	 * nested system call it arrives in, and the script decides what to
	 * do with the work done so far.
	 */
	if (fatal_signal_pending(current))
		rt->abort = -EINTR;
	else if (rt->call_insns > rt->insn_limit)
		rt->abort = -ETIME;
	cond_resched();
	return rt->abort;
}

/*
 * An aborted call raises its error on the running thread, and again on
 * every API call that follows: a pcall() that catches the error makes
 * one at once.  Only the thread of the innermost protected call may
 * raise: any other one is suspended, or a resumer waiting for the
 * running one, and a jump to its handler would skip the running
 * thread's.
 */
static void luak_abort_call(struct lua_State *L, struct lua_runtime *rt)
{
	rt->ticks.left = 0;
	rt->ticks.insns = 0;
	if (rt->running == L)
		luak_raise_abort(L, rt);
}

/* The VM charged LUAK_CHECK_PERIOD instructions or more (luai_chargedue). */
void luak_charge_due(struct lua_State *L)
{
	struct lua_runtime *rt = luak_runtime(L);
	u64 charged = LUAK_CHECK_PERIOD - rt->ticks.insns;

	rt->ticks.insns = LUAK_CHECK_PERIOD;
	if (luak_check(rt, charged))
		luak_abort_call(L, rt);
}

/**
 * lua_runtime_abort() - stop the running call at once
 * @L: the Lua thread that runs it
 * @err: the negative errno the call fails with
 *
 * Raises an error that no pcall() of the script can keep: every later API
 * call and check of the call raises it again, and the call fails with
 * @err.  For a C function of the script.
 *
 * Return: does not return.
 */
int lua_runtime_abort(struct lua_State *L, int err)
{
	struct lua_runtime *rt = luak_runtime(L);

	if (!rt->abort)
		rt->abort = err;
	luak_abort_call(L, rt);
	/* Not the innermost protected call's thread: raise on the next call. */
	lua_pushstring(L, luak_abort_msg(rt->abort));
	return lua_error(L);
}

/**
 * lua_runtime_aborted() - is the running call of a state stopped?
 * @rt: the state
 *
 * Once a call is aborted (lua_runtime_abort(), the instruction budget, a
 * fatal signal), Lua may still run code while it unwinds: __close handlers,
 * and C functions that a script's pcall() calls after catching the error.
 * A C function with an effect outside the state checks this first, and
 * calls lua_runtime_abort() instead of acting.
 *
 * Return: true if the state's current call is being aborted.
 */
bool lua_runtime_aborted(const struct lua_runtime *rt)
{
	return rt->abort;
}

/* Charge work done in C by a library function. */
void luak_charge(struct lua_State *L, u64 insns)
{
	struct lua_runtime *rt = luak_runtime(L);

	if (luak_check(rt, insns))
		luak_abort_call(L, rt);
}

/* Called by lua_lock() every LUAK_TICK_BATCH API calls. */
void luak_tick(struct lua_State *L, void *ud)
{
	struct lua_runtime *rt = luak_from_ud(ud);

	rt->ticks.left = LUAK_TICK_BATCH;
	if (luak_check(rt, LUAK_TICK_BATCH))
		luak_abort_call(L, rt);
}

/* --- kernel stack -------------------------------------------------------- */

unsigned int luak_cstack_limit(void *ud, unsigned int ncalls)
{
	struct lua_runtime *rt = luak_from_ud(ud);
	unsigned long sp = (unsigned long)__builtin_frame_address(0);
	size_t left = lua_runtime_stack_left();

	if (sp < rt->stack_low)
		rt->stack_low = sp;
	if (likely(left >= LUAK_STACK_SOFT)) {
		rt->soft_ncalls = 0;
		return LUAK_MAXCCALLS;
	}
	/*
	 * luaE_checkcstack() raises "C stack overflow" when the count of C
	 * calls equals the limit, lets error handlers run while it is past
	 * the limit by less than a tenth, and throws LUA_ERRERR, which runs
	 * no handler, beyond: so the limit becomes the count at which the
	 * stack went below LUAK_STACK_SOFT, and 0 below LUAK_STACK_HARD.
	 */
	if (left < LUAK_STACK_HARD)
		return 0;
	if (!rt->soft_ncalls)
		rt->soft_ncalls = ncalls;
	return rt->soft_ncalls;
}

/*
 * The task's call in progress, for code that cannot reach its state: the
 * pattern matcher and the byte loops.  Only the task itself reads or
 * writes it.
 */
static struct lua_runtime *luak_current_call(void)
{
	return current->lua_call;
}

/*
 * The pattern matcher of the string library calls this on entry to each
 * level of its recursion (see luaconf.h): when it returns 1, the matcher
 * raises an error.  Every LUAK_TICK_BATCH calls, the work is charged to
 * the instruction budget of the call in progress.
 */
int luak_strlib_check(void)
{
	struct lua_runtime *rt;

	if (lua_runtime_stack_left() < LUAK_STACK_STRLIB)
		return 1;
	if (likely(this_cpu_inc_return(luak_strlib_ticks) % LUAK_TICK_BATCH))
		return 0;
	rt = luak_current_call();
	if (rt)
		return luak_check(rt, LUAK_TICK_BATCH);
	if (fatal_signal_pending(current))
		return 1;
	cond_resched();
	return 0;
}

/* --- byte loops ---------------------------------------------------------- */

/*
 * Comparing two long strings, or searching one with string.find(), is one
 * VM instruction or library call however many bytes it touches.  The C
 * library functions those loops use are ours (shim/string.h): they charge
 * the bytes to the call in progress (LUAK_BYTES_PER_INSN to an instruction)
 * and they check it, with a reschedule, at least every LUAK_BYTES_BATCH
 * bytes, also inside one long comparison.  They have no state at hand:
 * the bytes add up per CPU and go to the current task's call when a batch
 * is full, as the pattern matcher's ticks do.  The results stay exact (the
 * interned strings depend on them); a loop that would do too much work for
 * one call is stopped by the function that runs it (luak_str_find()).
 */
#define LUAK_BYTES_BATCH	SZ_16K
/* compared in steps of this, so that an early difference is charged little */
#define LUAK_CMP_STEP		256

static DEFINE_PER_CPU(unsigned long, luak_bytes);

static void luak_bytes_flush(void)
{
	unsigned long bytes = this_cpu_xchg(luak_bytes, 0);
	struct lua_runtime *rt = luak_current_call();

	/* No Lua API here: an abort is raised by the next API call. */
	if (!rt)
		cond_resched();
	else if (luak_check(rt, bytes / LUAK_BYTES_PER_INSN))
		rt->ticks.left = 0;
}

static inline void luak_charge_bytes(size_t n)
{
	if (unlikely(this_cpu_add_return(luak_bytes, n) >= LUAK_BYTES_BATCH))
		luak_bytes_flush();
}

int luak_memcmp(const void *a, const void *b, size_t n)
{
	size_t off, step;
	int r = 0;

	for (off = 0; off < n; off += step) {
		step = min_t(size_t, n - off, LUAK_CMP_STEP);
		luak_charge_bytes(step);
		r = memcmp(a + off, b + off, step);
		if (r)
			break;
	}
	return r;
}

void *luak_memchr(const void *s, int c, size_t n)
{
	size_t off, step;
	void *found;

	for (off = 0; off < n; off += step) {
		step = min_t(size_t, n - off, LUAK_BYTES_BATCH);
		found = memchr(s + off, c, step);
		if (found) {
			luak_charge_bytes(found - (s + off) + 1);
			return found;
		}
		luak_charge_bytes(step);
	}
	return NULL;
}

char *luak_strpbrk(const char *s, const char *accept)
{
	char *found = strpbrk(s, accept);

	luak_charge_bytes(found ? found - s + 1 : strlen(s) + 1);
	return found;
}

/* Both are NUL-terminated segments of Lua strings (lvm.c's l_strcmp()). */
int luak_strcoll(const char *a, const char *b)
{
	size_t n = 0;

	while (a[n] == b[n] && a[n]) {
		n++;
		if (!(n % LUAK_CMP_STEP))
			luak_charge_bytes(LUAK_CMP_STEP);
	}
	luak_charge_bytes(n % LUAK_CMP_STEP + 1);
	return (unsigned char)a[n] - (unsigned char)b[n];
}

/* --- addresses ------------------------------------------------------------ */

/*
 * Keys of the hash of pointer keys and of the identities that tostring()
 * and %p print: random, for the life of the kernel.  Pointer hashes have no
 * state at hand (ltable.c hashes a key with only the table), so the key is
 * not per state; as the outputs of a keyed PRF, neither carries address
 * bits, only equality, which a script can test anyway.
 */
static hsiphash_key_t luak_hash_key __read_mostly;
static siphash_key_t luak_id_key __read_mostly;

static void luak_addr_keys_init(void)
{
	get_random_once(&luak_hash_key, sizeof(luak_hash_key));
	get_random_once(&luak_id_key, sizeof(luak_id_key));
}

/* point2uint() of the core: the hash of a pointer key. */
unsigned int luak_point2uint(const void *p)
{
	unsigned long v = (unsigned long)p;

	return hsiphash_2u32(lower_32_bits(v), upper_32_bits(v),
			     &luak_hash_key);
}

/* What tostring() and %p show for a table, function, thread or userdata. */
unsigned long long luak_pointer_id(const void *p)
{
	return siphash_1u64((unsigned long)p, &luak_id_key);
}

/* lua_topointer() for string.format("%p"), which prints the result. */
const void *luak_topointer(lua_State *L, int idx)
{
	const void *p = lua_topointer(L, idx);

	return p ? (const void *)(unsigned long)luak_pointer_id(p) : NULL;
}

/* --- misc hooks ---------------------------------------------------------- */

unsigned int luak_makeseed(void)
{
	return get_random_u32();
}

static int luak_panic(struct lua_State *L)
{
	/* Every entry into a state is protected: this is a bug. */
	WARN(1, "lua: unprotected error\n");
	return 0;
}

static void luak_warn(void *ud, const char *msg, int tocont)
{
	/* warn() and errors in __gc: not for the kernel log */
}

/* --- the API --------------------------------------------------------------- */

static __always_inline void luak_call_begin(struct lua_runtime *rt)
{
	might_sleep();
	rt->abort = 0;
	rt->mem_failed = false;
	rt->call_insns = 0;
	rt->alloc_bytes = 0;
	rt->soft_ncalls = 0;
	rt->ticks.left = LUAK_TICK_BATCH;
	rt->ticks.insns = LUAK_CHECK_PERIOD;
	rt->stack_entry = (unsigned long)__builtin_frame_address(0);
	rt->stack_low = rt->stack_entry;
	rt->calls++;
	rt->errmsg[0] = '\0';
	/*
	 * What earlier calls left on this CPU's counters is theirs: a batch
	 * (1024 instructions' worth) must not fall due on a call that did not
	 * do the work, which would fail a call with a small budget at once.
	 */
	this_cpu_write(luak_bytes, 0);
	this_cpu_write(luak_strlib_ticks, 0);
	rt->outer_call = current->lua_call;
	current->lua_call = rt;
}

/* Keep a copy of the error on top of the stack, pop it, map @status. */
static __always_inline int luak_call_end(struct lua_runtime *rt, int status)
{
	struct lua_State *L = rt->L;
	const char *msg;
	size_t len;
	int err;

	current->lua_call = rt->outer_call;
	/* what the VM charged since the last check, for the statistics */
	if (!rt->abort)
		rt->insns += LUAK_CHECK_PERIOD - rt->ticks.insns;
	rt->stack_max = max(rt->stack_max, rt->stack_entry - rt->stack_low);
	if (status == LUA_OK)
		return 0;

	/* Outside a protected call: nothing here may allocate. */
	if (lua_type(L, -1) == LUA_TSTRING) {
		msg = lua_tolstring(L, -1, &len);
		strscpy(rt->errmsg, msg, sizeof(rt->errmsg));
	} else if (lua_isinteger(L, -1)) {
		snprintf(rt->errmsg, sizeof(rt->errmsg), "%lld",
			 (long long)lua_tointeger(L, -1));
	} else {
		snprintf(rt->errmsg, sizeof(rt->errmsg),
			 "(error object is a %s value)",
			 lua_typename(L, lua_type(L, -1)));
	}
	lua_pop(L, 1);

	if (rt->abort)
		return rt->abort;
	switch (status) {
	case LUA_ERRMEM:
		return -ENOMEM;
	case LUA_ERRSYNTAX:
		return -EINVAL;
	default:
		err = -LUA_RUNTIME_ERUNTIME;
		/* lauxlib's buffers raise a plain error when out of memory */
		if (rt->mem_failed && !strcmp(rt->errmsg, "not enough memory"))
			err = -ENOMEM;
		/* the string library's matcher stops on fatal signals too */
		if (fatal_signal_pending(current))
			err = -EINTR;
		return err;
	}
}

/**
 * lua_runtime_load() - compile a Lua chunk
 * @rt: the state
 * @chunk: Lua source text; a precompiled (binary) chunk is refused
 * @len: length of @chunk in bytes; it needs no terminating NUL
 * @name: chunk name for error messages ("=name" for a literal name), or
 *	NULL
 *
 * On success, pushes the compiled chunk, a function, on the Lua stack.
 *
 * Context: process context, may sleep.
 * Return: 0, -EINVAL for a syntax error or a binary chunk, -ENOMEM when the
 * memory budget is exhausted, -EINTR on a fatal signal.
 */
int lua_runtime_load(struct lua_runtime *rt, const char *chunk, size_t len,
		     const char *name)
{
	int status;

	luak_call_begin(rt);
	status = luaL_loadbufferx(rt->L, chunk, len, name ?: "=lua", "t");
	status = luak_call_end(rt, status);
	/* a load runs no Lua code: any other failure is in the chunk */
	if (status && status != -ENOMEM && status != -EINTR)
		status = -EINVAL;
	return status;
}

/**
 * lua_runtime_pcall() - call a function with the state's limits
 * @rt: the state
 * @nargs: number of arguments on top of the Lua stack
 * @nresults: number of results wanted, or LUA_MULTRET
 *
 * Calls the function below the @nargs arguments on the Lua stack, like
 * lua_pcall(), with a fresh instruction budget.  On success the results
 * replace the function and its arguments; on failure both are popped and
 * the error message is kept for lua_runtime_last_error().
 *
 * Context: process context, may sleep.
 * Return: 0; -ENOMEM when the memory budget is exhausted, -ETIME when the
 * instruction budget is, -EINTR on a fatal signal, -%LUA_RUNTIME_ERUNTIME
 * for any other error raised by the function.
 */
int lua_runtime_pcall(struct lua_runtime *rt, int nargs, int nresults)
{
	luak_call_begin(rt);
	return luak_call_end(rt, lua_pcall(rt->L, nargs, nresults, 0));
}

/* lua_pcallk()'s f_call() for one result; @ud holds the function's slot */
static void luak_call_slot(struct lua_State *L, void *ud)
{
	luaD_callnoyield(L, restorestack(L, *(ptrdiff_t *)ud), 1);
}

/**
 * lua_runtime_call_integers() - call a function with integer arguments
 * @rt: the state
 * @index: the function's stack index, counted from the bottom (1 and up)
 * @args: the arguments
 * @nargs: their count
 *
 * What lua_pushvalue() of the function, lua_pushinteger() of each argument
 * and lua_runtime_pcall() for one result do, for a caller that makes one
 * such call per system call: the function and its arguments are written
 * onto the stack and the protected call is made directly, without the
 * API's index translation, checks and counting of each step.
 *
 * Context: process context, may sleep.
 * Return: as lua_runtime_pcall(); on success the result is on top of the
 * stack.
 */
int lua_runtime_call_integers(struct lua_runtime *rt, int index,
			      const s64 *args, unsigned int nargs)
{
	struct lua_State *L = rt->L;
	ptrdiff_t slot;
	unsigned int i;
	StkId func;

	if (unlikely(L->stack_last.p - L->top.p <= nargs + 1) &&
	    !lua_checkstack(L, nargs + 1)) {
		/* no earlier call's message may explain this one */
		strscpy(rt->errmsg, "not enough memory", sizeof(rt->errmsg));
		return -ENOMEM;
	}
	func = L->top.p;
	setobj2s(L, func, s2v(L->ci->func.p + index));
	for (i = 0; i < nargs; i++)
		setivalue(s2v(func + 1 + i), args[i]);
	L->top.p = func + 1 + nargs;
	slot = savestack(L, func);

	luak_call_begin(rt);
	return luak_call_end(rt, luaD_pcall(L, luak_call_slot, &slot, slot, 0));
}

struct luak_cpcall {
	int (*fn)(struct lua_State *L, void *arg);
	void *arg;
	int ret;
};

static int luak_cpcall_fn(struct lua_State *L)
{
	struct luak_cpcall *cp = lua_touserdata(L, 1);

	lua_pop(L, 1);
	cp->ret = cp->fn(L, cp->arg);
	return 0;
}

/**
 * lua_runtime_cpcall() - run a C function in protected mode
 * @rt: the state
 * @fn: the function; it may use any Lua API function, raise Lua errors and
 *	call Lua functions unprotected, and leaves the stack as it found it
 * @arg: passed to @fn
 *
 * Runs @fn with the state's limits, as lua_runtime_pcall() does.
 *
 * Context: process context, may sleep.
 * Return: the value @fn returned, or an error as for lua_runtime_pcall().
 */
int lua_runtime_cpcall(struct lua_runtime *rt,
		       int (*fn)(struct lua_State *L, void *arg), void *arg)
{
	struct luak_cpcall cp = { .fn = fn, .arg = arg };
	int err;

	lua_pushcfunction(rt->L, luak_cpcall_fn);
	lua_pushlightuserdata(rt->L, &cp);
	err = lua_runtime_pcall(rt, 1, 0);
	return err ?: cp.ret;
}

/**
 * lua_runtime_last_error() - the message of the last failed call
 * @rt: the state
 *
 * Return: the error message of the last load or call, if it failed (cut
 * to %LUA_RUNTIME_ERRLEN bytes), else "".  Valid until the next call.
 */
const char *lua_runtime_last_error(const struct lua_runtime *rt)
{
	return rt->errmsg;
}

/**
 * lua_runtime_get_stats() - read the counters of a state
 * @rt: the state
 * @stats: filled with the counters
 */
void lua_runtime_get_stats(const struct lua_runtime *rt,
			   struct lua_runtime_stats *stats)
{
	stats->mem_used = rt->mem_used;
	stats->mem_peak = rt->mem_peak;
	stats->mem_limit = rt->mem_limit;
	stats->insns = rt->insns;
	stats->insn_limit = rt->insn_limit;
	stats->calls = rt->calls;
	stats->stack_max = rt->stack_max;
}

/**
 * lua_runtime_state() - the Lua state of a runtime
 * @rt: the state
 *
 * Between calls, use it only for API functions that do not allocate or run
 * Lua code: pushing integers, booleans, light userdata and values from the
 * registry, reading results.  Use lua_runtime_cpcall() for anything else.
 *
 * Return: the main thread of the state.
 */
struct lua_State *lua_runtime_state(struct lua_runtime *rt)
{
	return rt->L;
}

/**
 * lua_runtime_create() - create a bounded Lua state
 * @limits: its budgets, or NULL for the defaults
 *
 * The state has the base library (without the functions that load code),
 * and the string, table, utf8, coroutine and integer math libraries.
 *
 * Context: process context, may sleep.
 * Return: the state, or ERR_PTR(-ENOMEM).
 */
struct lua_runtime *lua_runtime_create(const struct lua_runtime_limits *limits)
{
	struct lua_runtime *rt;
	int err;

	might_sleep();
	luak_addr_keys_init();
	rt = kzalloc(sizeof(*rt), GFP_KERNEL_ACCOUNT);
	if (!rt)
		return ERR_PTR(-ENOMEM);
	rt->ticks.left = LUAK_TICK_BATCH;
	rt->mem_limit = LUA_RUNTIME_DEFAULT_MEM;
	rt->insn_limit = LUA_RUNTIME_DEFAULT_INSNS;
	if (limits && limits->mem_limit)
		rt->mem_limit = limits->mem_limit;
	if (limits && limits->insn_limit)
		rt->insn_limit = limits->insn_limit;

	rt->L = lua_newstate(luak_alloc, &rt->ticks);
	if (!rt->L) {
		kfree(rt);
		return ERR_PTR(-ENOMEM);
	}
	lua_atpanic(rt->L, luak_panic);
	lua_setwarnf(rt->L, luak_warn, NULL);

	err = lua_runtime_cpcall(rt, luak_open_libs, NULL);
	if (err) {
		lua_runtime_destroy(rt);
		return ERR_PTR(err);
	}
	rt->insns = 0;
	rt->calls = 0;
	return rt;
}

/**
 * lua_runtime_destroy() - close a state and free its memory
 * @rt: the state, or NULL
 *
 * Finalizers (__gc, __close) still run; Lua code in them stops at its
 * first check.  API calls are not counted: the finalizers of the
 * auxiliary library's buffers free their memory through them, and an
 * abort raised there would leak it.
 *
 * Context: process context, may sleep.
 */
void lua_runtime_destroy(struct lua_runtime *rt)
{
	if (!rt)
		return;
	might_sleep();
	rt->abort = -ESHUTDOWN;
	rt->running = NULL;
	rt->ticks.left = LONG_MAX;
	lua_close(rt->L);
	WARN_ON_ONCE(rt->mem_used);
	kfree(rt);
}
