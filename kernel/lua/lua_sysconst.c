// SPDX-License-Identifier: GPL-2.0-only
/*
 * sys.const: the values of the flags and numbers the system calls take,
 * by name (sys.const.O_CREAT, sys.const.EAGAIN), so that scripts need not
 * hard-code them, several of which differ between architectures.
 *
 * A table of names in the kernel's read-only data, not a Lua table per
 * state: a name is looked up on its first use in a state and then kept in
 * that state's table.  An unknown name is an error where it is written,
 * as for sys.NAME.
 */
#include <linux/errno.h>
#include <uapi/linux/eventpoll.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/fs_types.h>
#include <linux/in.h>
#include <linux/mman.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/signal.h>
#include <linux/socket.h>
#include <linux/stat.h>
#include <linux/string.h>
#include <linux/tcp.h>
#include <linux/time.h>
#include <uapi/linux/stat.h>

#include "lua.h"
#include "lauxlib.h"
#include "lua_syscall_libs.h"

struct lua_sysconst {
	const char *name;
	lua_Integer value;
};

#define LUA_CONST(c)	{ #c, (__force lua_Integer)(c) },

static const struct lua_sysconst sys_consts[] = {
#include "lua_sysconst.h"
#include "lua_syscall_errnos.h"
};

#undef LUA_CONST

static const struct lua_sysconst *sysconst_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sys_consts); i++)
		if (!strcmp(sys_consts[i].name, name))
			return &sys_consts[i];
	return NULL;
}

/**
 * lua_syscall_sysconst_has() - whether sys.const.NAME is a constant
 * @name: the NAME
 *
 * Return: true if it is.
 */
bool lua_syscall_sysconst_has(const char *name)
{
	return sysconst_lookup(name);
}

/* sys.const.__index(t, name): the value, kept in t for the next use. */
static int sysconst_index(struct lua_State *L)
{
	const struct lua_sysconst *c = NULL;

	if (lua_type(L, 2) == LUA_TSTRING)
		c = sysconst_lookup(lua_tostring(L, 2));
	if (!c)
		return luaL_error(L, "sys.const.%s: no such constant",
				  lua_type(L, 2) == LUA_TSTRING ?
				  lua_tostring(L, 2) : "?");
	lua_pushvalue(L, 2);
	lua_pushinteger(L, c->value);
	lua_rawset(L, 1);
	lua_pushinteger(L, c->value);
	return 1;
}

/* Pushes the sys.const table. */
int lua_syscall_open_sysconst(struct lua_State *L)
{
	lua_newtable(L);
	lua_newtable(L);
	lua_pushcfunction(L, sysconst_index);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	return 1;
}
