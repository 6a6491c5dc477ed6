// SPDX-License-Identifier: GPL-2.0
/*
 * The library set of the in-kernel Lua runtime, and the number helpers
 * luaconf.h names.
 *
 * Scripts get the base library without the functions that load code
 * (load, loadfile, dofile), with a rate-limited print and without __gc
 * metamethods, the string
 * library without string.dump and without floating-point conversions, the
 * table, utf8 and coroutine libraries and an integer subset of math.
 */

#define pr_fmt(fmt) "lua: " fmt

#include <linux/kernel.h>
#include <linux/pid.h>
#include <linux/random.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "lua_runtime_internal.h"

/* --- numbers (see luaconf.h) -------------------------------------------- */

/* Numerals that are not integers: none is valid. */
LUA_NUMBER luak_str2number(const char *s, char **endptr)
{
	*endptr = (char *)s;
	return 0;
}

static int luak_nofloat(lua_State *L, const char *what)
{
	return luaL_error(L, "%s: no floating point in the kernel", what);
}

int luak_number2strx(lua_State *L)
{
	return luak_nofloat(L, "'%a' format");
}

LUA_NUMBER luak_float_arith(lua_State *L, int op)
{
	switch (op) {
	case '/':
		luaL_error(L, "'/' is float division: use '//'");
		break;
	case '^':
		luaL_error(L, "'^' is float exponentiation");
		break;
	default:
		luak_nofloat(L, "float arithmetic");
	}
	return 0;
}

/* string.format's %e %f %g, string.pack's f d n */
LUA_NUMBER luak_checkfloat(lua_State *L, int arg)
{
	luaL_argerror(L, arg, "floating-point format");
	return 0;
}

/* string.unpack's f d n */
void luak_pushfloat(lua_State *L, LUA_NUMBER n)
{
	luak_nofloat(L, "floating-point format");
}

unsigned int luak_random32(void)
{
	return get_random_u32();
}

/* lbaselib's print, which is replaced below */
void luak_writestring(const char *s, size_t len)
{
}

/* lauxlib's default panic and warning functions, which are not used */
void luak_writestringerror(const char *fmt, const char *p)
{
	pr_warn_ratelimited("%s\n", p);
}

/* --- base ---------------------------------------------------------------- */

#define LUAK_PRINT_MAX	200

/* print(...): one line in the kernel log, rate-limited system-wide */
static int luak_print(lua_State *L)
{
	static DEFINE_RATELIMIT_STATE(rs, 5 * HZ, 10);
	int n = lua_gettop(L);
	luaL_Buffer b;
	const char *s;
	size_t len;
	int i;

	if (!__ratelimit(&rs))
		return 0;
	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	s = lua_tolstring(L, -1, &len);
	pr_info("%s[%d]: %*pE%s\n", current->comm, task_pid_nr(current),
		(int)min_t(size_t, len, LUAK_PRINT_MAX), s,
		len > LUAK_PRINT_MAX ? "..." : "");
	return 0;
}

/*
 * collectgarbage("count") is a float (KiB): make it an integer (bytes).
 * A full collection or a step traverses up to the whole heap: charge it
 * to the budget first, at the collector's rate.
 */
static int luak_collectgarbage(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	const char *opt = luaL_optstring(L, 1, "collect");
	lua_Integer heap = (lua_Integer)lua_gc(L, LUA_GCCOUNT) * 1024 +
			   lua_gc(L, LUA_GCCOUNTB);

	if (!strcmp(opt, "count")) {
		lua_pushinteger(L, heap);
		return 1;
	}
	if (!strcmp(opt, "collect") || !strcmp(opt, "step"))
		luak_charge(L, heap / LUAK_GC_BYTES_PER_INSN);
	return orig(L);
}

/*
 * The core runs __gc metamethods at any allocation, of any call, and turns
 * their errors into warnings: setmetatable() refuses metatables with a
 * __gc field.  (A __gc added to a metatable later does not make an object
 * finalizable.)
 */
static int luak_setmetatable(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	int gc;

	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		gc = lua_rawget(L, 2);
		lua_pop(L, 1);
		if (gc != LUA_TNIL)
			return luaL_argerror(L, 2, "__gc metamethods are not supported");
	}
	return orig(L);
}

/* Replace @name in the table on top with @fn, the old value an upvalue. */
static void luak_wrap(lua_State *L, const char *name, lua_CFunction fn)
{
	lua_getfield(L, -1, name);
	lua_pushcclosure(L, fn, 1);
	lua_setfield(L, -2, name);
}

static void luak_remove(lua_State *L, const char *name)
{
	lua_pushnil(L);
	lua_setfield(L, -2, name);
}

/* --- string -------------------------------------------------------------- */

/*
 * string.rep("", n) loops n times copying nothing, without a Lua API call
 * that could stop it: answer it here.  Other repetitions are bounded by
 * the memory budget, which their result must fit in.
 */
static int luak_str_rep(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	size_t l, lsep;

	luaL_checklstring(L, 1, &l);
	luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &lsep);
	if (!l && !lsep) {
		lua_pushliteral(L, "");
		return 1;
	}
	return orig(L);
}

/*
 * A plain string.find() compares up to (#s - #p) * #p bytes in C, without
 * an API call.  The byte loops charge what they compare (lua_runtime.c),
 * but only a function of the script can stop a call in the middle of its
 * work: for large operands, search here, charging as the byte loops do
 * and stopping as soon as the budget is spent.
 */
#define LUAK_FIND_LARGE		SZ_64K
#define LUAK_FIND_SMALL_WORK	SZ_1M

static bool luak_plain(lua_State *L, const char *p, size_t lp)
{
	size_t i;

	if (lua_toboolean(L, 4))
		return true;
	for (i = 0; i < lp; i++)
		if (p[i] && strchr("^$*+?.([%-", p[i]))
			return false;
	return true;
}

static int luak_str_find(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	size_t ls, lp, init, left, cost = 0;
	const char *s = luaL_checklstring(L, 1, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	lua_Integer pos = luaL_optinteger(L, 3, 1);
	const char *q;

	/* string.find's 'init': 1-based, negative from the end */
	if (pos > 0)
		init = pos - 1;
	else if (pos == 0 || pos < -(lua_Integer)ls)
		init = 0;
	else
		init = ls + pos;
	if (init > ls || lp < 2 || lp > ls - init ||
	    (ls - init) / 1024 * lp < LUAK_FIND_SMALL_WORK / 1024 ||
	    !luak_plain(L, p, lp))
		return orig(L);

	for (q = s + init; (left = ls - (q - s)) >= lp; q++) {
		q = memchr(q, p[0], left - lp + 1);
		if (!q)
			break;
		cost += lp;
		if (cost >= LUAK_FIND_LARGE) {
			luak_charge(L, cost / LUAK_BYTES_PER_INSN);
			cost = 0;
		}
		if (!memcmp(q + 1, p + 1, lp - 1)) {
			lua_pushinteger(L, q - s + 1);
			lua_pushinteger(L, q - s + lp);
			return 2;
		}
	}
	luaL_pushfail(L);
	return 1;
}

/* --- utf8 --------------------------------------------------------------- */

/* lutf8lib.c's u_posrelat(): a position in [0, len + 1] */
static lua_Integer luak_utf8_pos(lua_Integer pos, size_t len)
{
	if (pos >= 0)
		return pos;
	if ((size_t)0 - pos > len)
		return 0;
	return (lua_Integer)len + pos + 1;
}

/*
 * utf8.len() and utf8.codepoint() decode each byte of a span, in C and,
 * for utf8.len(), without an API call; utf8.offset() walks up to four
 * bytes for each character it moves over.  Charge that first, as the byte
 * loops are charged (lua_runtime.c).
 */
static void luak_utf8_charge(lua_State *L, size_t len, lua_Integer i,
			     lua_Integer j)
{
	i = luak_utf8_pos(i, len);
	j = luak_utf8_pos(j, len);
	if (j >= i)
		luak_charge(L, (j - i + 1) / LUAK_BYTES_PER_INSN);
}

static int luak_utf8_len(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	size_t len;

	luaL_checklstring(L, 1, &len);
	luak_utf8_charge(L, len, luaL_optinteger(L, 2, 1),
			 luaL_optinteger(L, 3, -1));
	return orig(L);
}

static int luak_utf8_codepoint(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	lua_Integer i = luaL_optinteger(L, 2, 1);
	size_t len;

	luaL_checklstring(L, 1, &len);
	luak_utf8_charge(L, len, i, luaL_optinteger(L, 3, i));
	return orig(L);
}

static int luak_utf8_offset(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	lua_Integer n = luaL_checkinteger(L, 2);
	u64 walk = n < 0 ? 0 - (u64)n : (u64)n;
	size_t len;

	luaL_checklstring(L, 1, &len);
	luak_charge(L, min_t(u64, len, walk * 4) / LUAK_BYTES_PER_INSN);
	return orig(L);
}

/* --- math: integers only ----------------------------------------------- */

static int luak_math_abs(lua_State *L)
{
	lua_Integer n = luaL_checkinteger(L, 1);

	lua_pushinteger(L, n < 0 ? (lua_Integer)(0ULL - (lua_Unsigned)n) : n);
	return 1;
}

/* floor and ceil of an integer: the integer */
static int luak_math_floor(lua_State *L)
{
	lua_pushinteger(L, luaL_checkinteger(L, 1));
	return 1;
}

/* C remainder, like math.fmod of two integers */
static int luak_math_fmod(lua_State *L)
{
	lua_Integer a = luaL_checkinteger(L, 1);
	lua_Integer d = luaL_checkinteger(L, 2);

	if (d == 0)
		return luaL_argerror(L, 2, "zero");
	/* -1 avoids the overflow of LUA_MININTEGER % -1 */
	lua_pushinteger(L, d == -1 ? 0 : a % d);
	return 1;
}

static int luak_math_minmax(lua_State *L, int op)
{
	int n = lua_gettop(L);
	int best = 1;
	int i;

	luaL_argcheck(L, n >= 1, 1, "number expected");
	for (i = 1; i <= n; i++) {
		luaL_checkinteger(L, i);
		if (i > 1 && (op < 0 ? lua_compare(L, i, best, LUA_OPLT) :
				       lua_compare(L, best, i, LUA_OPLT)))
			best = i;
	}
	lua_pushvalue(L, best);
	return 1;
}

static int luak_math_min(lua_State *L)
{
	return luak_math_minmax(L, -1);
}

static int luak_math_max(lua_State *L)
{
	return luak_math_minmax(L, 1);
}

static int luak_math_tointeger(lua_State *L)
{
	int isint;
	lua_Integer n = lua_tointegerx(L, 1, &isint);

	if (isint) {
		lua_pushinteger(L, n);
	} else {
		luaL_checkany(L, 1);
		luaL_pushfail(L);
	}
	return 1;
}

static int luak_math_type(lua_State *L)
{
	if (lua_type(L, 1) == LUA_TNUMBER) {
		lua_pushstring(L, lua_isinteger(L, 1) ? "integer" : "float");
	} else {
		luaL_checkany(L, 1);
		luaL_pushfail(L);
	}
	return 1;
}

static int luak_math_ult(lua_State *L)
{
	lua_Integer a = luaL_checkinteger(L, 1);
	lua_Integer b = luaL_checkinteger(L, 2);

	lua_pushboolean(L, (lua_Unsigned)a < (lua_Unsigned)b);
	return 1;
}

/*
 * math.random(m, n) and math.random(n): a uniform integer in [m, n] (or
 * [1, n]); math.random(0): 64 random bits.  math.random() would be a float
 * in [0, 1): an error.  The generator is the kernel's; there is no seed.
 */
static int luak_math_random(lua_State *L)
{
	lua_Integer low, up;
	u64 range, r, mask;

	switch (lua_gettop(L)) {
	case 1:
		low = 1;
		up = luaL_checkinteger(L, 1);
		if (up == 0) {
			lua_pushinteger(L, (lua_Integer)get_random_u64());
			return 1;
		}
		break;
	case 2:
		low = luaL_checkinteger(L, 1);
		up = luaL_checkinteger(L, 2);
		break;
	default:
		return luaL_error(L, "math.random needs integer bounds");
	}
	luaL_argcheck(L, low <= up, lua_gettop(L), "interval is empty");
	range = (u64)up - (u64)low;
	/* smallest 2^b - 1 >= range, then reject the values above range */
	mask = range ? GENMASK_ULL(fls64(range) - 1, 0) : 0;
	do {
		r = get_random_u64() & mask;
	} while (r > range);
	lua_pushinteger(L, (lua_Integer)((u64)low + r));
	return 1;
}

static const luaL_Reg luak_mathlib[] = {
	{ "abs", luak_math_abs },
	{ "ceil", luak_math_floor },
	{ "floor", luak_math_floor },
	{ "fmod", luak_math_fmod },
	{ "max", luak_math_max },
	{ "min", luak_math_min },
	{ "random", luak_math_random },
	{ "tointeger", luak_math_tointeger },
	{ "type", luak_math_type },
	{ "ult", luak_math_ult },
	{ NULL, NULL }
};

static int luak_open_math(lua_State *L)
{
	luaL_newlib(L, luak_mathlib);
	lua_pushinteger(L, LUA_MAXINTEGER);
	lua_setfield(L, -2, "maxinteger");
	lua_pushinteger(L, LUA_MININTEGER);
	lua_setfield(L, -2, "mininteger");
	return 1;
}

/* --- the set ------------------------------------------------------------- */

int luak_open_libs(lua_State *L, void *arg)
{
	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	luak_remove(L, "dofile");
	luak_remove(L, "loadfile");
	luak_remove(L, "load");
	lua_pushcfunction(L, luak_print);
	lua_setfield(L, -2, "print");
	luak_wrap(L, "collectgarbage", luak_collectgarbage);
	luak_wrap(L, "setmetatable", luak_setmetatable);
	lua_pop(L, 1);

	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
	luak_remove(L, "dump");
	luak_wrap(L, "rep", luak_str_rep);
	luak_wrap(L, "find", luak_str_find);
	lua_pop(L, 1);

	luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
	luak_wrap(L, "len", luak_utf8_len);
	luak_wrap(L, "codepoint", luak_utf8_codepoint);
	luak_wrap(L, "offset", luak_utf8_offset);
	lua_pop(L, 1);

	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
	luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
	luaL_requiref(L, LUA_MATHLIBNAME, luak_open_math, 1);
	lua_pop(L, 3);
	return 0;
}
