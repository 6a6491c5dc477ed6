// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mem library of lua_syscall scripts: the caller's memory, named after
 * the kernel's own helpers.  mem.get8/16/32/64(addr) and
 * mem.put8/16/32/64(addr, v) in native byte order, mem.read(addr, len) to a
 * string and mem.write(addr, s).  Addresses are user addresses of the
 * calling task; a fault fails the whole lua_syscall() with EFAULT and stops
 * the script at once, even inside a pcall().
 *
 * Every user access completes before any Lua API call that may raise an
 * error, so no fault path holds anything across a longjmp.
 */
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/uaccess.h>

#include "lua.h"
#include "lauxlib.h"
#include "lua_syscall_libs.h"

static int mem_fault(struct lua_State *L, const char *what, unsigned long addr)
{
	return lua_syscall_abort(L, lua_syscall_ctx(L), -EFAULT,
				 "%s: bad address 0x%lx", what, addr);
}

/*
 * Every function starts here: a stopped call touches no user memory, and a
 * fault needs the stack of a system call.
 */
static void __user *mem_addr(struct lua_State *L)
{
	lua_syscall_check_running(L, lua_syscall_ctx(L));
	lua_syscall_check_stack(L);
	return (void __user *)(unsigned long)luaL_checkinteger(L, 1);
}

#define MEM_GET(bits)							\
static int mem_get##bits(struct lua_State *L)				\
{									\
	u##bits __user *p = mem_addr(L);				\
	u##bits v;							\
									\
	if (get_user(v, p))						\
		return mem_fault(L, "mem.get" #bits, (unsigned long)p);	\
	lua_pushinteger(L, (lua_Integer)v);				\
	return 1;							\
}

#define MEM_PUT(bits)							\
static int mem_put##bits(struct lua_State *L)				\
{									\
	u##bits __user *p = mem_addr(L);				\
	u##bits v = (u##bits)luaL_checkinteger(L, 2);			\
									\
	if (put_user(v, p))						\
		return mem_fault(L, "mem.put" #bits, (unsigned long)p);	\
	return 0;							\
}

MEM_GET(8)
MEM_GET(16)
MEM_GET(32)
MEM_GET(64)
MEM_PUT(8)
MEM_PUT(16)
MEM_PUT(32)
MEM_PUT(64)

/* mem.read(addr, len) -> string */
static int mem_read(struct lua_State *L)
{
	void __user *p = mem_addr(L);
	lua_Integer len = luaL_checkinteger(L, 2);
	luaL_Buffer b;
	char *dst;

	luaL_argcheck(L, len >= 0 && len <= MAX_RW_COUNT, 2, "bad length");
	dst = luaL_buffinitsize(L, &b, len);
	/* the buffer's allocation may have ended the call */
	lua_syscall_check_running(L, lua_syscall_ctx(L));
	if (copy_from_user(dst, p, len))
		return mem_fault(L, "mem.read", (unsigned long)p);
	luaL_pushresultsize(&b, len);
	return 1;
}

/* mem.write(addr, s) */
static int mem_write(struct lua_State *L)
{
	void __user *p = mem_addr(L);
	size_t len;
	const char *src = luaL_checklstring(L, 2, &len);

	/* converting a number to a string may have ended the call */
	lua_syscall_check_running(L, lua_syscall_ctx(L));
	if (copy_to_user(p, src, len))
		return mem_fault(L, "mem.write", (unsigned long)p);
	return 0;
}

static const luaL_Reg mem_funcs[] = {
	{ "get8", mem_get8 },
	{ "get16", mem_get16 },
	{ "get32", mem_get32 },
	{ "get64", mem_get64 },
	{ "put8", mem_put8 },
	{ "put16", mem_put16 },
	{ "put32", mem_put32 },
	{ "put64", mem_put64 },
	{ "read", mem_read },
	{ "write", mem_write },
	{ NULL, NULL }
};

int lua_syscall_open_mem(struct lua_State *L)
{
	luaL_newlib(L, mem_funcs);
	return 1;
}
