// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the in-kernel Lua runtime.
 *
 * Most cases run a Lua chunk that records failed checks with check(name,
 * condition) and returns their names; the test expects an empty string.
 * The recursion cases also measure how deep into the kernel stack they
 * got: the free stack is painted before the call and scanned after it.
 */

#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/lua_runtime.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "lua.h"

static void lk_destroy(void *rt)
{
	lua_runtime_destroy(rt);
}

static struct lua_runtime *lk_new(struct kunit *test, size_t mem, u64 insns)
{
	struct lua_runtime_limits limits = {
		.mem_limit = mem,
		.insn_limit = insns,
	};
	struct lua_runtime *rt = lua_runtime_create(&limits);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, rt);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, lk_destroy, rt));
	return rt;
}

/* Load and call @src with @nres results. */
static int lk_do(struct lua_runtime *rt, const char *src, int nres)
{
	int err;

	err = lua_runtime_load(rt, src, strlen(src), "=test");

	if (err)
		return err;
	return lua_runtime_pcall(rt, 0, nres);
}

/* @src must fail with @err and a message containing @msg. */
static void lk_expect_err(struct kunit *test, struct lua_runtime *rt,
			  const char *src, int err, const char *msg)
{
	int ret = lk_do(rt, src, 0);

	KUNIT_EXPECT_EQ_MSG(test, ret, err, "%.60s: %s", src,
			    lua_runtime_last_error(rt));
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(lua_runtime_last_error(rt), msg),
				  "%.60s: message '%s' lacks '%s'", src,
				  lua_runtime_last_error(rt), msg);
}

static const char lk_prelude[] =
	"local fails = {}\n"
	"local function check(name, ok)\n"
	"  if not ok then fails[#fails + 1] = name end\n"
	"end\n";

/* Run @body, which calls check(); every check must pass. */
static void lk_checks(struct kunit *test, struct lua_runtime *rt,
		      const char *body)
{
	struct lua_State *L = lua_runtime_state(rt);
	char *src;
	int err;

	src = kasprintf(GFP_KERNEL, "%s%s\nreturn table.concat(fails, ' ')",
			lk_prelude, body);
	KUNIT_ASSERT_NOT_NULL(test, src);
	err = lk_do(rt, src, 1);
	kfree(src);
	KUNIT_ASSERT_EQ_MSG(test, err, 0, "%s", lua_runtime_last_error(rt));
	KUNIT_EXPECT_STREQ_MSG(test, lua_tostring(L, -1), "", "failed checks");
	lua_pop(L, 1);
}

static const char lk_integers_lua[] =
	"check('wrap', math.maxinteger + 1 == math.mininteger)\n"
	"check('wrapmul', math.mininteger * -1 == math.mininteger)\n"
	"check('idiv', 7 // 2 == 3 and -7 // 2 == -4)\n"
	"check('idivmin', math.mininteger // -1 == math.mininteger)\n"
	"check('mod', 7 % -3 == -2 and -7 % 3 == 2)\n"
	"check('modmin', math.mininteger % -1 == 0)\n"
	"check('shift', 1 << 63 == math.mininteger and 1 << 64 == 0)\n"
	"check('shr', -1 >> 63 == 1)\n"
	"check('bits', 0xf0 | 0x0f == 255 and 6 & 3 == 2 and 5 ~ 1 == 4)\n"
	"check('hex', 0xff == 255 and 0xffffffffffffffff == -1)\n"
	"check('coerce', '10' + 1 == 11 and 10 .. '' == '10')\n"
	"check('tostring', tostring(-42) == '-42')\n"
	"check('tonumber', tonumber('0x10') == 16 and tonumber('z', 36) == 35)\n"
	"check('tointeger', math.tointeger('8') == 8)\n"
	"check('type', math.type(1) == 'integer')\n"
	"check('abs', math.abs(-3) == 3)\n"
	"check('minmax', math.max(3, 9, 1) == 9 and math.min(3, 9, 1) == 1)\n"
	"check('ult', math.ult(1, -1))\n"
	"check('fmod', math.fmod(-7, 3) == -1)\n"
	"check('random', math.random(5, 5) == 5)\n"
	"local r = math.random(10)\n"
	"check('random10', r >= 1 and r <= 10)\n"
	"check('maxint', math.maxinteger == 9223372036854775807)\n"
	"check('gccount', math.type(collectgarbage('count')) == 'integer')\n"
	"check('cmp', 1 < 2 and not (2 < 1) and 'a' < 'b')\n"
	"check('forloop', (function() local s = 0\n"
	"  for i = 10, 1, -3 do s = s + i end return s end)() == 22)\n";

static const char lk_floats_lua[] =
	"check('tonumber', tonumber('0.5') == nil and tonumber('1e2') == nil)\n"
	"check('strarith', not pcall(function() return '1.5' + 1 end))\n"
	"check('nofloatlib', math.pi == nil and math.huge == nil)\n"
	"check('nosqrt', math.sqrt == nil)\n";

static const char lk_strings_lua[] =
	"check('pack', string.pack('<i4', 0x12345678) == '\\x78\\x56\\x34\\x12')\n"
	"check('unpack', string.unpack('>I2', '\\1\\2') == 258)\n"
	"local a, b, n = string.unpack('<i2 z', '\\255\\255hi\\0')\n"
	"check('unpack2', a == -1 and b == 'hi' and n == 6)\n"
	"check('packsize', string.packsize('i4 i8') == 12)\n"
	"check('pack8', string.unpack('<j', string.pack('<j', math.mininteger))\n"
	"  == math.mininteger)\n"
	"check('fmt', string.format('%d %s %x|%5.2s|%-3d|%X|%c|%5d', 42, 'hi',\n"
	"  255, 'abc', 7, 255, 65, -12) == '42 hi ff|   ab|7  |FF|A|  -12')\n"
	"check('fmtq', string.format('%q', 'a\\nb') == '\"a\\\\\\nb\"')\n"
	"check('fmti', string.format('%i %u %o', -1, 3, 8) == '-1 3 10')\n"
	"check('find', string.find('hello world', 'o w') == 5)\n"
	"check('findplain', string.find('a.b', '.', 1, true) == 2)\n"
	"local big = ('x'):rep(20000) .. 'needle'\n"
	"check('bigfind', big:find(('x'):rep(4000) .. 'needle', 1, true) == 16001)\n"
	"check('bigfind2', big:find(('x'):rep(4000) .. 'needle', -4010) == 16001)\n"
	"check('bigfail', big:find(('x'):rep(4000) .. 'needlf') == nil)\n"
	"check('match', string.match('key=val', '(%w+)=(%w+)') == 'key')\n"
	"check('gsub', select(2, string.gsub('hello', 'l', 'L')) == 2)\n"
	"check('gsubf', string.gsub('abc', '%w', function(c)\n"
	"  return c:upper() end) == 'ABC')\n"
	"check('gmatch', (function() local n = 0\n"
	"  for w in string.gmatch('a b c', '%a') do n = n + 1 end\n"
	"  return n end)() == 3)\n"
	"check('rep', ('ab'):rep(3, ',') == 'ab,ab,ab')\n"
	"check('repempty', ('').rep('', math.maxinteger) == '')\n"
	"check('byte', ('A'):byte() == 65 and string.char(72, 105) == 'Hi')\n"
	"check('sub', ('hello'):sub(2, -2) == 'ell')\n"
	"check('len', #'\\0\\0' == 2 and ('x'):len() == 1)\n"
	"check('upper', ('aB'):upper() == 'AB' and ('aB'):lower() == 'ab')\n"
	"check('reverse', ('abc'):reverse() == 'cba')\n"
	"check('class', not ('\\xe9'):find('%a'))\n"
	"check('tostr', tostring(nil) == 'nil' and tostring(true) == 'true')\n"
	"check('tostrtable', tostring({}):find('^table: ') ~= nil)\n"
	"check('nodump', string.dump == nil)\n"
	"check('utf8', utf8.char(72, 228, 8364) == 'H\\xc3\\xa4\\xe2\\x82\\xac')\n"
	"check('utf8len', utf8.len('H\\xc3\\xa4\\xe2\\x82\\xac') == 3)\n"
	"check('utf8cp', utf8.codepoint('\\xe2\\x82\\xac') == 8364)\n";

static const char lk_tables_lua[] =
	"local t = {10, 20, 30}\n"
	"table.insert(t, 40) table.insert(t, 1, 5)\n"
	"check('insert', #t == 5 and t[1] == 5 and t[5] == 40)\n"
	"check('remove', table.remove(t, 1) == 5 and #t == 4)\n"
	"check('concat', table.concat(t, ',') == '10,20,30,40')\n"
	"table.sort(t, function(a, b) return a > b end)\n"
	"check('sort', table.concat(t, ',') == '40,30,20,10')\n"
	"check('unpack', select('#', table.unpack(t)) == 4)\n"
	"check('pack', table.pack(1, nil, 3).n == 3)\n"
	"check('move', table.concat(table.move({1, 2, 3}, 1, 3, 2), ',')\n"
	"  == '1,1,2,3')\n"
	"local keys = 0 for k, v in pairs({a = 1, b = 2, 3}) do\n"
	"  keys = keys + 1 end\n"
	"check('pairs', keys == 3)\n"
	"local proxy = setmetatable({}, {__index = t, __len = function()\n"
	"  return 99 end})\n"
	"check('meta', proxy[1] == 40 and #proxy == 99)\n"
	"check('rawlen', rawlen(proxy) == 0 and rawget(proxy, 1) == nil)\n"
	"local function counter() local n = 0\n"
	"  return function() n = n + 1 return n end end\n"
	"local c1, c2 = counter(), counter()\n"
	"c1() c1()\n"
	"check('closure', c1() == 3 and c2() == 1)\n"
	"local function shared() local v = 0\n"
	"  return function() v = v + 1 end, function() return v end end\n"
	"local inc, get = shared() inc() inc()\n"
	"check('upvalue', get() == 2)\n"
	"local function va(...) return select('#', ...), ... end\n"
	"check('vararg', va(1, nil, 3) == 3)\n"
	"local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1)\n"
	"  return b * 2 end)\n"
	"check('coroutine', co(1) == 2 and co(5) == 10)\n"
	"local cr = coroutine.create(function() error('boom') end)\n"
	"local ok, e = coroutine.resume(cr)\n"
	"check('coerror', not ok and e:find('boom') and\n"
	"  coroutine.status(cr) == 'dead')\n"
	"check('goto', (function() local i = 0 ::top:: i = i + 1\n"
	"  if i < 3 then goto top end return i end)() == 3)\n";

static const char lk_errors_lua[] =
	"local ok, e = pcall(error, 'x')\n"
	"check('pcall', not ok and e == 'x')\n"
	"ok, e = pcall(error, {code = 7})\n"
	"check('errobj', not ok and e.code == 7)\n"
	"ok, e = pcall(function() local x = nil; return x.y end)\n"
	"check('index', not ok and e:find('attempt to index'))\n"
	"ok, e = pcall(function() error('lvl') end)\n"
	"check('where', e:match('^test:%d+: lvl$'))\n"
	"ok, e = xpcall(function() error('h') end,\n"
	"  function(m) return 'handled ' .. m end)\n"
	"check('xpcall', not ok and e:find('handled'))\n"
	"check('assert', not pcall(assert, false))\n"
	"check('noloaders', load == nil and loadfile == nil and dofile == nil\n"
	"  and require == nil)\n"
	"check('nolibs', io == nil and os == nil and debug == nil and\n"
	"  package == nil)\n"
	"local closed = false\n"
	"do local x <close> = setmetatable({}, {__close = function()\n"
	"  closed = true end}) end\n"
	"check('close', closed)\n"
	"print('print is rate-limited: \\1\\n')\n";

static const char lk_entry_lua[] =
	"return function(a, b) return a * b + from_c end";

/* a * b + 5: -37, then S64_MIN + 5 (the product wraps) */
static const s64 lk_args[16] = { 6, -7, S64_MIN, 1, [15] = -1 };

static const char lk_fill_memory_lua[] =
	"local t = {} for i = 1, 1 << 40 do t[i] = {} end";

static const char lk_catch_memory_lua[] =
	"local ok, e = pcall(string.rep, 'x', 1 << 20)\n"
	"check('caught', not ok and e == 'not enough memory')\n"
	"check('small', #('x'):rep(1000) == 1000)\n";

static const char lk_pcall_loop_lua[] =
	"while true do pcall(function() while true do end end) end";

/* no loop at all: only the calls are charged */
static const char lk_tail_call_loop_lua[] =
	"local function f() return f() end return f()";

static const char lk_goto_loop_lua[] = "::again:: goto again";

static const char lk_repeat_loop_lua[] =
	"local x = 0 repeat x = x + 1 until x < 0";

/* each time around, the body's 41 instructions */
#define LK_LONG_BODY_LUA(n)						\
	"local x = 0 for i = 1, " #n " do\n"				\
	"x = x + 1 x = x + 1 x = x + 1 x = x + 1 x = x + 1\n"		\
	"x = x + 1 x = x + 1 x = x + 1 x = x + 1 x = x + 1\n"		\
	"x = x + 1 x = x + 1 x = x + 1 x = x + 1 x = x + 1\n"		\
	"x = x + 1 x = x + 1 x = x + 1 x = x + 1 x = x + 1\n"		\
	"end check('long body', x == 20 * " #n ")"

static const char lk_coroutine_loop_lua[] =
	"local co = coroutine.wrap(function() while true do end end) co()";

static const char lk_find_loop_lua[] =
	"local s = ('a'):rep(1 << 18)\n"
	"return s:find(('a'):rep(1 << 16) .. 'b', 1, true)";

static const char lk_backtrack_budget_lua[] =
	"local s = ('a'):rep(40)\n"
	"return s:find(('a?'):rep(40) .. s .. 'b')";

static const char lk_insert_loop_lua[] =
	"table.insert(setmetatable({}, {__len = function()\n"
	"  return 1 << 62 end}), 1, 1)";

static const char lk_backtrack_lua[] =
	"return (('a'):rep(40)):find(('a?'):rep(40) .. ('a'):rep(40))";

/* Byte loops in C: one VM instruction or library call each round. */
static const char lk_compare_loop_lua[] =
	"local s, t = ('a'):rep(1 << 16), ('a'):rep(1 << 16)\n"
	"while true do local x = s == t end";

static const char lk_less_loop_lua[] =
	"local s, t = ('a'):rep(1 << 16), ('a'):rep(1 << 16) .. 'b'\n"
	"while true do local x = s < t end";

static const char lk_memchr_loop_lua[] =
	"local s = ('a'):rep(1 << 16)\n"
	"while true do local x = s:find('b', 1, true) end";

static const char lk_utf8_loop_lua[] =
	"local s = ('a'):rep(1 << 16)\n"
	"while true do local x = utf8.len(s) end";

static const char lk_sum_loop_lua[] =
	"local s = 0 for i = 1, 2000000 do s = s + i end\n"
	"check('sum', s == 2000001000000)";

static const char lk_late_gc_lua[] =
	"local mt = {}\n"
	"local t = setmetatable({}, mt)\n"
	"mt.__gc = function() while true do end end\n"
	"t = nil collectgarbage() collectgarbage()";

static const char lk_endless_close_lua[] =
	"do local x <close> = setmetatable({}, {__close = function()\n"
	"  while true do end end}) end";

static const char lk_suspended_close_lua[] =
	"local co = coroutine.create(function()\n"
	"  local x <close> = setmetatable({}, {__close = function()\n"
	"    while true do end end})\n"
	"  coroutine.yield() end)\n"
	"coroutine.resume(co) suspended = co";

static void lua_test_integers(struct kunit *test)
{
	struct lua_runtime *rt = lk_new(test, 0, 0);

	lk_checks(test, rt, lk_integers_lua);
	lk_expect_err(test, rt, "return 1 // 0", -LUA_RUNTIME_ERUNTIME,
		      "divide by zero");
	lk_expect_err(test, rt, "local z = 0 return 1 % z", -LUA_RUNTIME_ERUNTIME,
		      "n%0");
}

/*
 * Floats: no numeral with a fraction, an exponent or more than 64 bits
 * compiles; '/' and '^' are errors, at compile time when both operands
 * are constants; a string that is not an integer converts to nil.
 */
static void lua_test_floats(struct kunit *test)
{
	struct lua_runtime *rt = lk_new(test, 0, 0);

	lk_expect_err(test, rt, "return 1.5", -EINVAL, "malformed number");
	lk_expect_err(test, rt, "return 1e3", -EINVAL, "malformed number");
	lk_expect_err(test, rt, "return 0x1p4", -EINVAL, "malformed number");
	lk_expect_err(test, rt, "return 9223372036854775808", -EINVAL,
		      "malformed number");
	lk_expect_err(test, rt, "return 3 / 2", -EINVAL, "use '//'");
	lk_expect_err(test, rt, "local x = 3 return x / 2",
		      -LUA_RUNTIME_ERUNTIME, "use '//'");
	lk_expect_err(test, rt, "local x = 3 return x ^ 2",
		      -LUA_RUNTIME_ERUNTIME, "'^'");
	lk_expect_err(test, rt, "return math.random()", -LUA_RUNTIME_ERUNTIME,
		      "integer bounds");
	lk_checks(test, rt, lk_floats_lua);
}

static void lua_test_strings(struct kunit *test)
{
	struct lua_runtime *rt = lk_new(test, 0, 0);

	lk_checks(test, rt, lk_strings_lua);
	lk_expect_err(test, rt, "return string.format('%f', 1)",
		      -LUA_RUNTIME_ERUNTIME, "floating-point format");
	lk_expect_err(test, rt, "return string.format('%a', 1)",
		      -LUA_RUNTIME_ERUNTIME, "floating-point format");
	lk_expect_err(test, rt, "return string.pack('d', 1)",
		      -LUA_RUNTIME_ERUNTIME, "floating-point format");
	lk_expect_err(test, rt, "return string.unpack('f', '1234')",
		      -LUA_RUNTIME_ERUNTIME, "floating-point format");
	lk_expect_err(test, rt, "return string.format('%10q', 'x')",
		      -LUA_RUNTIME_ERUNTIME, "cannot have modifiers");
	lk_expect_err(test, rt, "return string.format('%10.3c', 1)",
		      -LUA_RUNTIME_ERUNTIME, "invalid conversion");
}

static void lua_test_tables_closures(struct kunit *test)
{
	struct lua_runtime *rt = lk_new(test, 0, 0);

	lk_checks(test, rt, lk_tables_lua);
}

static void lua_test_errors(struct kunit *test)
{
	struct lua_runtime *rt = lk_new(test, 0, 0);

	lk_checks(test, rt, lk_errors_lua);
	lk_expect_err(test, rt, "error('runtime')", -LUA_RUNTIME_ERUNTIME,
		      "test:1: runtime");
	lk_expect_err(test, rt, "error(setmetatable({}, {}))",
		      -LUA_RUNTIME_ERUNTIME, "error object is a table");
	lk_expect_err(test, rt, "error(42)", -LUA_RUNTIME_ERUNTIME, "42");
	lk_expect_err(test, rt, "return +", -EINVAL, "unexpected symbol");
	lk_expect_err(test, rt, "local x <const> = 1; x = 2", -EINVAL,
		      "const variable");
	/* deep Lua recursion uses the Lua stack, not the kernel's */
	lk_expect_err(test, rt, "local function f() return 1 + f() end f()",
		      -LUA_RUNTIME_ERUNTIME, "stack overflow");
	/* the state stays usable after errors */
	lk_checks(test, rt, "check('alive', 1 + 1 == 2)");
}

static int lk_cfail(struct lua_State *L, void *arg)
{
	lua_pushstring(L, arg);
	return lua_error(L);
}

static int lk_cok(struct lua_State *L, void *arg)
{
	lua_pushinteger(L, 5);
	lua_setglobal(L, "from_c");
	return 17;
}

/* Runs inside a call: the task knows its call in progress. */
static int lk_in_call(struct lua_State *L, void *arg)
{
	return current->lua_call == arg;
}

static void lua_test_api(struct kunit *test)
{
	struct lua_runtime *rt = lk_new(test, 0, 0);
	struct lua_State *L = lua_runtime_state(rt);
	struct lua_runtime_stats st;

	KUNIT_EXPECT_EQ(test, lua_runtime_cpcall(rt, lk_cok, NULL), 17);
	KUNIT_EXPECT_EQ(test, lua_runtime_cpcall(rt, lk_cfail, "from C"),
			-LUA_RUNTIME_ERUNTIME);
	KUNIT_EXPECT_STREQ(test, lua_runtime_last_error(rt), "from C");

	/* an entry function called with integer arguments */
	KUNIT_ASSERT_EQ(test, 0, lk_do(rt, lk_entry_lua, 1));
	KUNIT_ASSERT_EQ(test, lua_type(L, -1), LUA_TFUNCTION);
	lua_pushvalue(L, -1);
	lua_pushinteger(L, 6);
	lua_pushinteger(L, -7);
	KUNIT_EXPECT_EQ(test, lua_runtime_pcall(rt, 2, 1), 0);
	KUNIT_EXPECT_EQ(test, lua_tointeger(L, -1), -37);
	lua_pop(L, 1);

	/* the same call set up directly, the function left where it is */
	KUNIT_EXPECT_EQ(test, lua_runtime_call_integers(rt, 1, lk_args, 2), 0);
	KUNIT_EXPECT_EQ(test, lua_gettop(L), 2);
	KUNIT_EXPECT_EQ(test, lua_tointeger(L, -1), -37);
	lua_pop(L, 1);
	KUNIT_EXPECT_EQ(test, lua_runtime_call_integers(rt, 1, lk_args + 2, 2),
			0);
	KUNIT_EXPECT_EQ(test, lua_tointeger(L, -1), S64_MIN + 5);
	lua_pop(L, 1);
	/* no arguments: nil * nil fails, and the stack is as it was */
	KUNIT_EXPECT_EQ(test, lua_runtime_call_integers(rt, 1, NULL, 0),
			-LUA_RUNTIME_ERUNTIME);
	KUNIT_EXPECT_NOT_NULL(test, strstr(lua_runtime_last_error(rt),
					   "arithmetic on a nil value"));
	KUNIT_EXPECT_EQ(test, lua_gettop(L), 1);
	/* as many arguments as lua_syscall() passes, the extra ones dropped */
	KUNIT_EXPECT_EQ(test, lua_runtime_call_integers(rt, 1, lk_args,
							ARRAY_SIZE(lk_args)), 0);
	KUNIT_EXPECT_EQ(test, lua_tointeger(L, -1), -37);
	lua_pop(L, 2);
	KUNIT_EXPECT_EQ(test, lua_gettop(L), 0);
	KUNIT_EXPECT_STREQ(test, lua_runtime_last_error(rt), "");

	/* the call in progress, found from the task, and none after it */
	KUNIT_EXPECT_EQ(test, lua_runtime_cpcall(rt, lk_in_call, rt), 1);
	KUNIT_EXPECT_NULL(test, current->lua_call);

	lua_runtime_get_stats(rt, &st);
	KUNIT_EXPECT_GT(test, st.mem_used, 0);
	KUNIT_EXPECT_LE(test, st.mem_used, st.mem_limit);
	KUNIT_EXPECT_EQ(test, st.calls, 10);
	KUNIT_EXPECT_GT(test, lua_runtime_stack_left(), THREAD_SIZE / 2);
}

static void lua_test_binary_chunk(struct kunit *test)
{
	static const char bin[] = "\x1bLua\x54\x00\x19\x93\r\n\x1a\n";
	struct lua_runtime *rt = lk_new(test, 0, 0);

	KUNIT_EXPECT_EQ(test, lua_runtime_load(rt, bin, sizeof(bin) - 1, "=bin"),
			-EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, strstr(lua_runtime_last_error(rt),
					   "binary chunk"));
	/* the chunk needs no terminating NUL */
	KUNIT_EXPECT_EQ(test, lua_runtime_load(rt, "return 1junk", 8, NULL), 0);
	lua_pop(lua_runtime_state(rt), 1);
}

static void lua_test_memory_limit(struct kunit *test)
{
	struct lua_runtime *rt = lk_new(test, 256 * 1024, 0);
	struct lua_runtime_limits limits = {};
	struct lua_runtime_stats st;

	lk_expect_err(test, rt, lk_fill_memory_lua, -ENOMEM, "not enough memory");
	lk_expect_err(test, rt, "return ('x'):rep(1 << 24)", -ENOMEM,
		      "not enough memory");
	lk_checks(test, rt, lk_catch_memory_lua);
	lua_runtime_get_stats(rt, &st);
	KUNIT_EXPECT_LE(test, st.mem_peak, st.mem_limit);
	KUNIT_EXPECT_LE(test, st.mem_used, st.mem_limit);
	kunit_info(test, "256 KiB budget: peak %zu bytes, %zu in use after GC\n",
		   st.mem_peak, st.mem_used);

	/* too small for the libraries */
	limits.mem_limit = 4096;
	KUNIT_EXPECT_EQ(test, PTR_ERR(lua_runtime_create(&limits)), -ENOMEM);
}

static void lua_test_instruction_limit(struct kunit *test)
{
	struct lua_runtime *rt = lk_new(test, 0, 200000);
	struct lua_runtime_stats st;

	lk_expect_err(test, rt, "while true do end", -ETIME,
		      "instruction budget");
	/* pcall() cannot swallow it */
	lk_expect_err(test, rt, lk_pcall_loop_lua, -ETIME, "");
	lk_expect_err(test, rt, lk_coroutine_loop_lua, -ETIME, "");
	lk_expect_err(test, rt, lk_tail_call_loop_lua, -ETIME, "budget");
	lk_expect_err(test, rt, lk_goto_loop_lua, -ETIME, "budget");
	lk_expect_err(test, rt, lk_repeat_loop_lua, -ETIME, "budget");
	/* a loop is charged its body each time: 41 * 2000, then 41 * 20000 */
	lk_checks(test, rt, LK_LONG_BODY_LUA(2000));
	lk_expect_err(test, rt,
		      "local function check() end\n" LK_LONG_BODY_LUA(20000),
		      -ETIME, "budget");
	/* C loops of the libraries are charged too */
	lk_expect_err(test, rt, "table.move({}, 1, 1 << 62, 2)", -ETIME, "");
	lk_expect_err(test, rt, lk_insert_loop_lua, -ETIME, "");
	lk_expect_err(test, rt, lk_find_loop_lua, -ETIME, "");
	/* exponential backtracking in the pattern matcher */
	lk_expect_err(test, rt, lk_backtrack_budget_lua, -ETIME, "");
	/* byte loops: 64 KiB a round, charged by the bytes */
	lk_expect_err(test, rt, lk_compare_loop_lua, -ETIME, "");
	lk_expect_err(test, rt, lk_less_loop_lua, -ETIME, "");
	lk_expect_err(test, rt, lk_memchr_loop_lua, -ETIME, "");
	lk_expect_err(test, rt, lk_utf8_loop_lua, -ETIME, "");
	/* the budget is per call */
	lk_checks(test, rt, "for i = 1, 30000 do end check('ok', true)");
	lk_checks(test, rt, "for i = 1, 30000 do end check('ok', true)");
	lua_runtime_get_stats(rt, &st);
	KUNIT_EXPECT_GT(test, st.insns, 60000);
}

/*
 * A signal that is not fatal does not stop a call: only the budget ends a
 * spin, in the VM and in the pattern matcher, which checks on its own.
 */
static void lua_test_signal(struct kunit *test)
{
	struct lua_runtime *rt = lk_new(test, 0, 200000);

	allow_signal(SIGUSR1);
	send_sig(SIGUSR1, current, 0);
	KUNIT_ASSERT_TRUE(test, signal_pending(current));
	lk_expect_err(test, rt, "while true do end", -ETIME, "budget");
	lk_expect_err(test, rt, lk_backtrack_lua, -ETIME, "");
	KUNIT_EXPECT_TRUE(test, signal_pending(current));
	flush_signals(current);
	disallow_signal(SIGUSR1);
	lk_checks(test, rt, "check('after', true)");
}

/* Paint the free stack below us, then find how far down it was used. */
#define LK_PAINT	0x5a5a5a5a5a5a5a5aUL
#define LK_SKIP		64	/* the end-of-stack canary */

static noinline __no_sanitize_address void lk_paint_stack(void)
{
	unsigned long base = (unsigned long)task_stack_page(current);
	unsigned long sp = (unsigned long)__builtin_frame_address(0);
	unsigned long *p;

	/* WRITE_ONCE: no memset() call, which would run below sp */
	for (p = (unsigned long *)(base + LK_SKIP);
	     (unsigned long)p < sp - 256; p++)
		WRITE_ONCE(*p, LK_PAINT);
}

/* Bytes of stack that were never used since the painting. */
static noinline __no_sanitize_address size_t lk_stack_unused(void)
{
	unsigned long base = (unsigned long)task_stack_page(current);
	unsigned long *p = (unsigned long *)(base + LK_SKIP);

	while (READ_ONCE(*p) == LK_PAINT)
		p++;
	return (unsigned long)p - base;
}

struct lk_recursion {
	const char *name;
	const char *src;
	int err;		/* 0: the chunk returns its pcall's result */
	const char *msg;
};

static const struct lk_recursion lk_recursions[] = {
	{ "pcall",
	  "local function f() depth = depth + 1 local ok, e = pcall(f)\n"
	  "  error(e, 0) end\n"
	  "return pcall(f)" },
	{ "__index function",
	  "local t = setmetatable({}, {__index = function(t, k)\n"
	  "  depth = depth + 1 return t[k] end})\n"
	  "return pcall(function() return t.x end)" },
	{ "__tostring",
	  "local mt = {} mt.__tostring = function(o) depth = depth + 1\n"
	  "  return tostring(o) end\n"
	  "return pcall(tostring, setmetatable({}, mt))" },
	{ "__concat",
	  "local mt = {} mt.__concat = function(a, b) depth = depth + 1\n"
	  "  return a .. b end\n"
	  "return pcall(function() return setmetatable({}, mt) .. 'x' end)" },
	{ "gsub callback",
	  "local function f(s) depth = depth + 1 return (s:gsub('.', f)) end\n"
	  "return pcall(f, 'a')" },
	{ "table.sort comparator",
	  "local function cmp(a, b) depth = depth + 1\n"
	  "  table.sort({3, 2, 1}, cmp) return a < b end\n"
	  "return pcall(table.sort, {3, 2, 1}, cmp)" },
	{ "coroutine nesting",
	  "local function f() depth = depth + 1\n"
	  "  return coroutine.wrap(f)() end\n"
	  "return pcall(f)" },
	{ "coroutine.resume nesting",
	  "local function f() depth = depth + 1\n"
	  "  local ok, e = coroutine.resume(coroutine.create(f))\n"
	  "  error(e, 0) end\n"
	  "return pcall(f)" },
	{ "xpcall handler",
	  "local function h(m) depth = depth + 1 error(m, 0) end\n"
	  "return xpcall(error, h, 'x')", 0, "error in error handling" },
	{ "pattern nesting",
	  "local s = ('a'):rep(300) depth = 300\n"
	  "return pcall(string.find, s, ('a?'):rep(300) .. s)",
	  0, "pattern too complex" },
	{ "parser: parentheses", NULL, -EINVAL, "overflow" },
	{ "parser: blocks", NULL, -EINVAL, "overflow" },
	{ "parser: functions", NULL, -EINVAL, "overflow" },
};

/* @n times @open, then @mid, then @n times @close */
static char *lk_nest(const char *open, const char *mid, const char *close,
		     int n)
{
	size_t lo = strlen(open), lm = strlen(mid), lc = strlen(close);
	char *s = kmalloc(n * (lo + lc) + lm + 1, GFP_KERNEL);
	char *p = s;
	int i;

	if (!s)
		return NULL;
	for (i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, mid, lm);
	p += lm;
	for (i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return s;
}

static char *lk_parser_src(const char *name)
{
	char *e, *s;

	if (!strcmp(name, "parser: parentheses")) {
		e = lk_nest("(", "1", ")", 1000);
		s = e ? kasprintf(GFP_KERNEL, "return %s", e) : NULL;
		kfree(e);
		return s;
	}
	if (!strcmp(name, "parser: blocks"))
		return lk_nest("do ", "", "end ", 1000);
	return lk_nest("local f = function() ", "", "end ", 1000);
}

static void lua_test_recursion(struct kunit *test)
{
	const struct lk_recursion *r;
	struct lua_runtime *rt;
	struct lua_State *L;
	struct lua_runtime_stats st;
	size_t unused, worst = THREAD_SIZE;
	const char *worst_name = "";
	const char *msg;
	unsigned long top;
	bool ok;
	char *src;
	int i, err, depth;

	top = (unsigned long)task_stack_page(current) + THREAD_SIZE;
	kunit_info(test, "kernel stack %lu bytes, test starts %lu bytes below its top\n",
		   THREAD_SIZE, top - (unsigned long)__builtin_frame_address(0));
	for (i = 0; i < ARRAY_SIZE(lk_recursions); i++) {
		r = &lk_recursions[i];
		rt = lk_new(test, 8 << 20, 1ULL << 32);
		L = lua_runtime_state(rt);
		KUNIT_ASSERT_EQ(test, 0, lk_do(rt, "depth = 0", 0));
		if (r->src)
			src = kstrdup(r->src, GFP_KERNEL);
		else
			src = lk_parser_src(r->name);
		KUNIT_ASSERT_NOT_NULL(test, src);

		lk_paint_stack();
		err = lk_do(rt, src, 2);
		unused = lk_stack_unused();
		kfree(src);

		if (r->err) {
			KUNIT_EXPECT_EQ_MSG(test, err, r->err, "%s: %s", r->name,
					    lua_runtime_last_error(rt));
			msg = lua_runtime_last_error(rt);
			KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(msg, r->msg),
						  "%s: %s", r->name, msg);
			depth = 0;
		} else {
			KUNIT_EXPECT_EQ_MSG(test, err, 0, "%s: %s", r->name,
					    lua_runtime_last_error(rt));
			if (err)
				continue;
			KUNIT_EXPECT_FALSE_MSG(test, lua_toboolean(L, -2),
					       "%s did not fail", r->name);
			msg = lua_tostring(L, -1) ?: "";
			if (r->msg)
				ok = strstr(msg, r->msg);
			else
				ok = strstr(msg, "stack overflow") ||
				     strstr(msg, "pattern too complex");
			KUNIT_EXPECT_TRUE_MSG(test, ok, "%s: %s", r->name, msg);
			lua_settop(L, 0);
			lua_getglobal(L, "depth");
			depth = lua_tointeger(L, -1);
			lua_pop(L, 1);
		}
		lua_runtime_get_stats(rt, &st);
		kunit_info(test,
			   "%-24s levels %4d, stack used %5lu bytes (%zu below the call), %5zu left\n",
			   r->name, depth, top - unused - (unsigned long)task_stack_page(current),
			   st.stack_max, unused);
		if (unused < worst) {
			worst = unused;
			worst_name = r->name;
		}
		/* far from the end: the guard stops at THREAD_SIZE / 4 */
		KUNIT_EXPECT_GT(test, unused, THREAD_SIZE / 8);
		kunit_release_action(test, lk_destroy, rt);
	}
	kunit_info(test, "deepest: %s, %zu of %lu bytes left\n", worst_name,
		   worst, THREAD_SIZE);
}

static void lua_test_fresh_state(struct kunit *test)
{
	struct lua_runtime *rt = lk_new(test, 0, 0);
	struct lua_runtime_stats st;

	lua_runtime_get_stats(rt, &st);
	kunit_info(test, "fresh state with its libraries: %zu bytes\n",
		   st.mem_used);
	KUNIT_EXPECT_LT(test, st.mem_used, 64 * 1024);
}

static void lua_test_speed(struct kunit *test)
{
	struct lua_runtime *rt = lk_new(test, 0, 1ULL << 40);
	struct lua_runtime_stats st0, st1;
	u64 t0, ns;

	lua_runtime_get_stats(rt, &st0);
	t0 = ktime_get_ns();
	lk_checks(test, rt, lk_sum_loop_lua);
	ns = ktime_get_ns() - t0;
	lua_runtime_get_stats(rt, &st1);
	kunit_info(test, "loop: %llu instructions in %llu us: %llu instructions/s\n",
		   st1.insns - st0.insns, ns / 1000,
		   div64_u64((st1.insns - st0.insns) * NSEC_PER_SEC, ns ?: 1));
}

/*
 * The core runs __gc metamethods with hooks off: scripts cannot have any.
 * __close metamethods run under the budget.  Closing a state runs no
 * script code that could keep it from closing.
 */
static const char lk_identities_lua[] =
	"local t = {} return t, tostring(t), string.format('%p', t)";

/*
 * tostring() and %p print an identity of an object, never its address, and
 * the same identity for the same object.
 */
static void lua_test_pointer_identity(struct kunit *test)
{
	struct lua_runtime *rt = lk_new(test, 0, 0);
	struct lua_State *L = lua_runtime_state(rt);
	char text[64], fmt[64], addr[20];
	const void *p;

	lk_checks(test, rt,
		  "local t = {}\n"
		  "check('same', tostring(t) == tostring(t))\n"
		  "check('distinct', tostring(t) ~= tostring({}))\n"
		  "check('form', tostring(t):find('^table: 0x%x+$') ~= nil)\n"
		  "check('fmt', string.format('%p', t) == string.format('%p', t))");

	KUNIT_ASSERT_EQ(test, 0, lk_do(rt, lk_identities_lua, 3));
	p = lua_topointer(L, -3);
	strscpy(text, lua_tostring(L, -2), sizeof(text));
	strscpy(fmt, lua_tostring(L, -1), sizeof(fmt));
	lua_pop(L, 3);
	/* not even the low 32 bits of the address */
	snprintf(addr, sizeof(addr), "%08lx", (unsigned long)p & 0xffffffff);
	KUNIT_EXPECT_NULL_MSG(test, strstr(text, addr), "tostring: %s", text);
	KUNIT_EXPECT_NULL_MSG(test, strstr(fmt, addr), "%%p: %s", fmt);
}

static void lua_test_finalizers(struct kunit *test)
{
	struct lua_runtime *rt = lua_runtime_create(NULL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, rt);
	lk_expect_err(test, rt,
		      "setmetatable({}, {__gc = function() while true do end end})",
		      -LUA_RUNTIME_ERUNTIME, "__gc metamethods are not supported");
	KUNIT_EXPECT_EQ(test, 0, lk_do(rt, lk_late_gc_lua, 0));
	lk_expect_err(test, rt, lk_endless_close_lua, -ETIME, "budget");
	KUNIT_EXPECT_EQ(test, 0, lk_do(rt, lk_suspended_close_lua, 0));
	lua_runtime_destroy(rt);
}

static struct kunit_case lua_runtime_test_cases[] = {
	KUNIT_CASE(lua_test_integers),
	KUNIT_CASE(lua_test_floats),
	KUNIT_CASE(lua_test_strings),
	KUNIT_CASE(lua_test_tables_closures),
	KUNIT_CASE(lua_test_errors),
	KUNIT_CASE(lua_test_api),
	KUNIT_CASE(lua_test_binary_chunk),
	KUNIT_CASE(lua_test_memory_limit),
	KUNIT_CASE(lua_test_instruction_limit),
	KUNIT_CASE(lua_test_signal),
	KUNIT_CASE(lua_test_recursion),
	KUNIT_CASE(lua_test_fresh_state),
	KUNIT_CASE(lua_test_speed),
	KUNIT_CASE(lua_test_finalizers),
	KUNIT_CASE(lua_test_pointer_identity),
	{}
};

static struct kunit_suite lua_runtime_test_suite = {
	.name = "lua_runtime",
	.test_cases = lua_runtime_test_cases,
};

kunit_test_suite(lua_runtime_test_suite);

MODULE_DESCRIPTION("KUnit tests for the in-kernel Lua runtime");
MODULE_LICENSE("GPL");
