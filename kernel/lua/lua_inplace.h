/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Lua stack read and written in place on the hot paths of lua_syscall:
 * a nested system call's arguments and result, and the entry's result.
 * The API functions these stand for (lua_touserdata() of an upvalue,
 * lua_gettop(), luaL_checkinteger(), lua_pushinteger()) translate and
 * check a stack index that is known here, and each takes lua_lock(),
 * which the runtime uses to charge C loops: a sys.NAME() call is not one,
 * it is charged as the VM instruction that made it.
 *
 * They follow the core's own macros (lapi.h, lobject.h, lstate.h); only the
 * files that include this one read the core's internal types.
 */
#ifndef _KERNEL_LUA_INPLACE_H
#define _KERNEL_LUA_INPLACE_H

#ifndef LUA_CORE
#error "define LUA_CORE before including lua.h: the core's types follow"
#endif

#include <linux/compiler.h>

#include "lua.h"
#include "lauxlib.h"
#include "lobject.h"
#include "lstate.h"

/* The running C function's argument count: lua_gettop(). */
static __always_inline int lua_inplace_nargs(struct lua_State *L)
{
	return L->top.p - (L->ci->func.p + 1);
}

/* Argument @arg (from 1, present): luaL_checkinteger(). */
static __always_inline lua_Integer lua_inplace_checkinteger(struct lua_State *L,
							    int arg)
{
	const struct TValue *o = s2v(L->ci->func.p + arg);

	if (likely(ttisinteger(o)))
		return ivalue(o);
	/* a string that converts, or the error */
	return luaL_checkinteger(L, arg);
}

/*
 * lua_pushinteger(): a C function is called with LUA_MINSTACK free slots,
 * and one result is all these push.
 */
static __always_inline void lua_inplace_pushinteger(struct lua_State *L,
						    lua_Integer n)
{
	setivalue(s2v(L->top.p), n);
	L->top.p++;
}

/* The light userdata in upvalue 1 of the running C closure. */
static __always_inline void *lua_inplace_upvalue_pointer(struct lua_State *L)
{
	return pvalue(&clCvalue(s2v(L->ci->func.p))->upvalue[0]);
}

/* The value on top of the stack, if it is an integer. */
static __always_inline bool lua_inplace_top_integer(struct lua_State *L,
						    lua_Integer *n)
{
	const struct TValue *o = s2v(L->top.p - 1);

	if (!ttisinteger(o))
		return false;
	*n = ivalue(o);
	return true;
}

/* The value on top of the stack is nil. */
static __always_inline bool lua_inplace_top_nil(struct lua_State *L)
{
	return ttisnil(s2v(L->top.p - 1));
}

/*
 * lua_pop(L, 1) of a value a call returned: a result is never a
 * to-be-closed variable, which is all lua_settop() looks for.
 */
static __always_inline void lua_inplace_pop(struct lua_State *L)
{
	L->top.p--;
}

#endif /* _KERNEL_LUA_INPLACE_H */
