// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sys library of lua_syscall scripts: system calls of the caller's
 * context, by name (sys.read(fd, buf, n)) or number (sys.call(nr, ...)),
 * and sys.nr, a name -> number table.
 *
 * A call returns what the system call returns, -errno included: it never
 * raises a Lua error, so batching loops stay cheap.  lua_nested_syscall()
 * makes it the task's own call for seccomp, tracing, audit, ptrace, signals
 * and task work; lua_syscall:lua_syscall_nested traces it too.  A seccomp
 * kill stops the script at once.
 */
/* lua_inplace.h reads the Lua core's internal types */
#define LUA_CORE

#include <linux/array_size.h>
#include <linux/bsearch.h>
#include <linux/errno.h>
#include <linux/lua_syscall.h>
#include <linux/seccomp.h>
#include <linux/string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lua_inplace.h"
#include "lua_syscall_libs.h"

#define CREATE_TRACE_POINTS
#include <trace/events/lua_syscall.h>

/* A system call of the running kernel: its uapi __NR_ name and number. */
struct lua_syscall_name {
	const char *name;
	unsigned int nr;
};

/* Generated from the uapi <asm/unistd_64.h>, sorted by name for bsearch(). */
static const struct lua_syscall_name sys_names[] = {
#define LUA_SYSCALL_NAME(n, number) { .name = n, .nr = number },
#include "lua_syscall_names.h"
#undef LUA_SYSCALL_NAME
};

/*
 * The array for @n arguments of a nested call, the others 0: only those the
 * last call set beyond @n are cleared.  Counted before they are written, so
 * that an error while they are (a bad argument) keeps the others 0.
 */
static __always_inline unsigned long *sys_args(struct lua_syscall_ctx *ctx,
					       int n)
{
	int i;

	for (i = n; i < ctx->args_set; i++)
		ctx->args[i] = 0;
	ctx->args_set = n;
	return ctx->args;
}

/*
 * The nested call and its accounting, once the script may make it
 * (lua_syscall_check_running(), lua_syscall_check_stack()).
 */
static __always_inline long sys_nested(struct lua_State *L,
				       struct lua_syscall_ctx *ctx,
				       unsigned int nr,
				       const unsigned long *args)
{
	struct seccomp_nested verdict __uninitialized;
	long ret;

	if (!ctx->frame_ready) {
		lua_nested_syscall_frame(&ctx->frame);
		ctx->frame_ready = true;
	}
	ret = lua_nested_syscall(&ctx->frame, nr, args, &verdict);
	/* Counted and traced like any other call, a killed one included. */
	ctx->nested++;
	trace_lua_syscall_nested(ctx->id, ctx->name, nr, args, ret);
	if (unlikely(verdict.killed)) {
		ctx->exit_signal = verdict.exit_signal;
		lua_syscall_abort(L, ctx, -EINTR,
				  "killed by seccomp (system call %u)", nr);
	}
	return ret;
}

static int sys_do(struct lua_State *L, unsigned int nr, int first)
{
	struct lua_syscall_ctx *ctx = lua_syscall_ctx(L);
	int n = lua_inplace_nargs(L) - first + 1;
	unsigned long *args;
	int i;

	if (unlikely(n > LUA_SYSCALL_NR_ARGS))
		luaL_error(L, "too many system call arguments (%d, at most %d)",
			   n, LUA_SYSCALL_NR_ARGS);
	args = sys_args(ctx, n);
	for (i = 0; i < n; i++)
		args[i] = lua_inplace_checkinteger(L, first + i);

	lua_syscall_check_running(L, ctx);
	lua_syscall_check_stack(L);
	lua_inplace_pushinteger(L, sys_nested(L, ctx, nr, args));
	return 1;
}

/*
 * sys.<name>(...): the upvalue points to the system call's entry in
 * sys_names, read-only.
 */
static int sys_named(struct lua_State *L)
{
	const struct lua_syscall_name *entry;

	entry = lua_inplace_upvalue_pointer(L);
	return sys_do(L, entry->nr, 1);
}

/**
 * lua_syscall_call_inplace() - a sys.NAME() call, made by the VM's CALL opcode
 * @L: the calling Lua thread
 * @func: the called value; its arguments are above it, up to L->top
 * @nresults: the number of results the caller wants, or LUA_MULTRET
 *
 * The common case, a sys.NAME() call with integer arguments, without what
 * calling a C function costs: a CallInfo, the stack check, an indirect
 * call, moving the result.  The result is left as luaD_poscall() would
 * leave it.  Anything else (another function, too many or non-integer
 * arguments, a stopped script, a low kernel stack, call or return hooks) is
 * left to the VM's own call of sys_named(), which raises the errors.  A
 * seccomp kill raises its error from here, as from sys_named().
 *
 * Return: 1 if the call was made, 0 if the VM is to make it.
 */
int lua_syscall_call_inplace(struct lua_State *L, StkId func, int nresults)
{
	const struct TValue *f = s2v(func);
	const struct lua_syscall_name *entry;
	struct lua_syscall_ctx *ctx;
	int n = L->top.p - (func + 1);
	unsigned long *args;
	long ret;
	int i;

	if (!ttisCclosure(f) || clCvalue(f)->f != sys_named)
		return 0;
	if (unlikely(n > LUA_SYSCALL_NR_ARGS ||
		     (L->hookmask & (LUA_MASKCALL | LUA_MASKRET))))
		return 0;
	ctx = lua_syscall_ctx(L);
	if (unlikely(lua_syscall_stopped(ctx) ||
		     lua_runtime_stack_left() < LUA_SYSCALL_STACK_NEEDED))
		return 0;
	args = sys_args(ctx, n);
	for (i = 0; i < n; i++) {
		const struct TValue *arg = s2v(func + 1 + i);

		if (unlikely(!ttisinteger(arg)))
			return 0;
		args[i] = ivalue(arg);
	}
	entry = pvalue(&clCvalue(f)->upvalue[0]);
	ret = sys_nested(L, ctx, entry->nr, args);

	if (!nresults) {
		L->top.p = func;
		return 1;
	}
	setivalue(s2v(func), ret);
	for (i = 1; i < nresults; i++)
		setnilvalue(s2v(func + i));
	L->top.p = func + (nresults == LUA_MULTRET ? 1 : nresults);
	return 1;
}

/* sys.call(nr, ...) */
static int sys_call(struct lua_State *L)
{
	lua_Integer nr = luaL_checkinteger(L, 1);

	if (nr < 0 || nr > U32_MAX) {
		lua_pushinteger(L, -ENOSYS);
		return 1;
	}
	return sys_do(L, nr, 2);
}

static int name_cmp(const void *key, const void *elt)
{
	const struct lua_syscall_name *entry = elt;

	return strcmp(key, entry->name);
}

static const struct lua_syscall_name *sys_lookup(const char *name)
{
	return bsearch(name, sys_names, ARRAY_SIZE(sys_names),
		       sizeof(sys_names[0]), name_cmp);
}

/**
 * lua_syscall_sys_has() - whether sys.NAME is something
 * @name: the NAME
 *
 * Return: true for a system call of this arch and the library's own fields.
 */
bool lua_syscall_sys_has(const char *name)
{
	return sys_lookup(name) || !strcmp(name, "call") ||
	       !strcmp(name, "nr") || !strcmp(name, "const");
}

/* The system call named by the key of an __index(t, key) call, or NULL. */
static const struct lua_syscall_name *sys_index_key(struct lua_State *L)
{
	if (lua_type(L, 2) != LUA_TSTRING)
		return NULL;
	return sys_lookup(lua_tostring(L, 2));
}

/* Store the value on top of the stack as t[key] and return it. */
static int sys_index_cache(struct lua_State *L)
{
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, 1);
	return 1;
}

/*
 * sys.NAME for a name this arch does not have: an error where the name is
 * written, not "attempt to call a nil value" where it is called, so that a
 * misspelt call is found at once.  sys.nr.NAME, nil for such a name, is the
 * test for a call that may be missing.
 */
static int sys_no_such_call(struct lua_State *L)
{
	if (lua_type(L, 2) != LUA_TSTRING)
		return luaL_error(L, "sys is indexed by system call names");
	return luaL_error(L, "sys.%s: no such system call (test with sys.nr.%s)",
			  lua_tostring(L, 2), lua_tostring(L, 2));
}

/* sys.__index(t, name): bind the named system call once, on first use. */
static int sys_index(struct lua_State *L)
{
	const struct lua_syscall_name *entry = sys_index_key(L);

	if (!entry)
		return sys_no_such_call(L);
	lua_pushlightuserdata(L, (void *)entry);
	lua_pushcclosure(L, sys_named, 1);
	return sys_index_cache(L);
}

/* sys.nr.__index(t, name) */
static int sys_nr_index(struct lua_State *L)
{
	const struct lua_syscall_name *entry = sys_index_key(L);

	if (!entry)
		return 0;
	lua_pushinteger(L, entry->nr);
	return sys_index_cache(L);
}

int lua_syscall_open_sys(struct lua_State *L)
{
	lua_newtable(L);			/* sys */

	lua_pushcfunction(L, sys_call);
	lua_setfield(L, -2, "call");

	lua_newtable(L);			/* sys.nr */
	lua_newtable(L);
	lua_pushcfunction(L, sys_nr_index);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	lua_setfield(L, -2, "nr");

	lua_syscall_open_sysconst(L);		/* sys.const */
	lua_setfield(L, -2, "const");

	lua_newtable(L);			/* metatable of sys */
	lua_pushcfunction(L, sys_index);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	return 1;
}
