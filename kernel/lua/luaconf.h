/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Configuration of the Lua 5.4 core for the Linux kernel.
 *
 * It replaces upstream's configuration header.  The imported Lua sources are not
 * modified; everything the kernel needs is set here, in the libc shim
 * headers of kernel/lua/shim/ and by kernel/lua/Makefile.
 *
 * Numbers: the kernel is built without FPU or SSE code, so there is no C
 * floating-point type anywhere.  lua_Integer is a 64-bit integer and so is
 * lua_Number: the "float" subtype of Lua numbers still exists in the VM but
 * holds an integer.  Nothing in a script can produce a fractional value:
 * float literals and numerals that overflow 64 bits do not compile, the '/'
 * and '^' operators raise an error, tonumber() of a non-integral string
 * gives nil and the float conversions of string.format/pack/unpack raise
 * an error.
 *
 * The hooks named luak_*() are implemented in kernel/lua/lua_runtime.c.
 */
#ifndef LUACONF_H
#define LUACONF_H

#include <limits.h>
#include <stddef.h>

struct lua_State;

/*
 * lauxlib.c has a static function named panic: kernel/lua/Makefile renames
 * the kernel's panic() declared by the C library headers before this file.
 */
#if defined(LUAK_LAUXLIB)
#undef panic
#endif

/* --- integers ---------------------------------------------------------- */

#define LUAI_IS32INT		((UINT_MAX >> 30) >= 3)

#define LUA_INTEGER		long long
#define LUA_INTEGER_FRMLEN	"ll"
#define LUA_INTEGER_FMT		"%" LUA_INTEGER_FRMLEN "d"
#define LUAI_UACINT		LUA_INTEGER
#define LUA_UNSIGNED		unsigned LUAI_UACINT
/* plain constants: lvm.c tests LUA_MAXINTEGER in #if */
#define LUA_MAXINTEGER		0x7fffffffffffffffLL
#define LUA_MININTEGER		(-LUA_MAXINTEGER - 1)
#define LUA_MAXUNSIGNED		0xffffffffffffffffULL

#define lua_integer2str(s, sz, n) \
	l_sprintf((s), (sz), LUA_INTEGER_FMT, (LUAI_UACINT)(n))

/* --- "floats": 64-bit integers too -------------------------------------- */

#define LUA_NUMBER		long long
#define LUAI_UACNUMBER		long long
#define LUA_NUMBER_FRMLEN	"ll"
#define LUA_NUMBER_FMT		"%lld"

/* Attributes of the "float" type, so that every integer fits in one. */
#define l_floatatt(n)		(LUAK_FLT_##n)
#define LUAK_FLT_MANT_DIG	64
#define LUAK_FLT_MAX_10_EXP	19
#define LUAK_FLT_DIG		18

/* math.h functions named by the core; <math.h> has integer versions */
#define l_mathop(op)		op
#define l_floor(x)		(x)

#define lua_number2str(s, sz, n) \
	l_sprintf((s), (sz), LUA_NUMBER_FMT, (LUAI_UACNUMBER)(n))
#define lua_numbertointeger(n, p)	((*(p) = (LUA_INTEGER)(n)), 1)
#define l_hashfloat(n)		((int)((unsigned long long)(n) % INT_MAX))

/* Numerals the integer reader rejects (fractions, overflow) stay invalid. */
LUA_NUMBER luak_str2number(const char *s, char **endptr);
#define lua_str2number(s, p)	luak_str2number((s), (p))
#define lua_strx2number(s, p)	lua_str2number(s, p)

int luak_number2strx(struct lua_State *L);
#define lua_number2strx(L, b, sz, f, n) \
	((void)(b), (void)(sz), (void)(f), (void)(n), luak_number2strx(L))

/* Float division and exponentiation have no integer meaning: errors. */
LUA_NUMBER luak_float_arith(struct lua_State *L, int op);
#define luai_numdiv(L, a, b)	((void)(a), (void)(b), luak_float_arith(L, '/'))
#define luai_numpow(L, a, b)	((void)(a), (void)(b), luak_float_arith(L, '^'))
#define luai_numidiv(L, a, b)	((void)(a), (void)(b), luak_float_arith(L, '/'))
#define luai_nummod(L, a, b, m) \
	((void)(a), (void)(b), (m) = luak_float_arith(L, '%'))

#define lua_getlocaledecpoint()	'.'

/*
 * The kernel has no <stdint.h>, which llimits.h includes for uintptr_t
 * unless told to keep to C89.  Its only other effect on the imported core
 * is l_inline, which becomes __inline__: the kernel's inline.  (point2uint()
 * then casts through size_t, as wide as a pointer on Linux.)
 */
#define LUA_USE_C89

/*
 * lvm.c's computed-goto dispatch is an indirect jump objtool cannot follow
 * (and a retpoline would slow down); use the switch.
 */
#define LUA_USE_JUMPTABLE	0

/* --- API and linkage --------------------------------------------------- */

#define LUA_API			extern
#define LUALIB_API		LUA_API
#define LUAMOD_API		LUA_API
#define LUAI_FUNC		extern
#define LUAI_DDEC(dec)		LUAI_FUNC dec
#define LUAI_DDEF		/* empty */

#define LUA_KCONTEXT		ptrdiff_t

#define l_sprintf(s, sz, f, i)	snprintf(s, sz, f, i)
/*
 * Lua hashes pointer keys (tables, closures, light C functions...) by their
 * address, next() visits a table in hash order, and tostring() and %p
 * print addresses: through these, a script could read kernel text and heap
 * addresses.  Both go through keyed functions of the runtime instead.
 */
unsigned int luak_point2uint(const void *p);
unsigned long long luak_pointer_id(const void *p);
#define point2uint(p)		luak_point2uint((const void *)(p))
#define lua_pointer2str(buff, sz, p) \
	l_sprintf(buff, sz, "0x%016llx", luak_pointer_id(p))

#define luai_likely(x)		(__builtin_expect(((x) != 0), 1))
#define luai_unlikely(x)	(__builtin_expect(((x) != 0), 0))

int luak_strlib_check(void);

#if defined(LUA_CORE) || defined(LUA_LIB)
#define l_likely(x)		luai_likely(x)
#if defined(LUAK_STRLIB)
/*
 * The pattern matcher of lstrlib.c recurses in C without entering the
 * core, which cannot be interrupted.  Every 'l_unlikely' test there guards
 * an error, and one of them is on entry to each level of match(): when the
 * stack runs low, a signal is pending or the instruction budget is spent,
 * the test is made true and the function raises its own error.
 */
#define l_unlikely(x)		luai_unlikely((x) || luak_strlib_check())
#else
#define l_unlikely(x)		luai_unlikely(x)
#endif
#endif

/* --- sizes and limits -------------------------------------------------- */

/* Lua stack slots of one thread: a deep Lua recursion fails cleanly */
#define LUAI_MAXSTACK		10000
#define LUA_EXTRASPACE		(sizeof(void *))
#define LUA_IDSIZE		60
/* luaL_Buffer lives on the kernel stack: keep it small */
#define LUAL_BUFFERSIZE		256
#define LUAI_MAXALIGN		long long n; void *s; long l
/* captures of a pattern (each takes 16 bytes of the kernel stack) */
#define LUA_MAXCAPTURES		16

/*
 * Nesting of C calls (C functions calling Lua, metamethods, the parser,
 * coroutine resumes).  The static limit is low; below it, the remaining
 * kernel stack decides (see luak_cstack_limit()).  Every use of this macro
 * in the core has 'L' in scope, and lstate.h for G() and getCcalls().
 */
#define LUAK_MAXCCALLS		64
unsigned int luak_cstack_limit(void *ud, unsigned int ncalls);
#define LUAI_MAXCCALLS		luak_cstack_limit(G(L)->ud, getCcalls(L))

/* --- state hooks -------------------------------------------------------- */

/*
 * The allocator's opaque pointer of every state points to these counters:
 * API calls, and VM instructions (see luai_chargecode), until the next
 * check of the call in progress.
 */
struct luak_ticks {
	long left;
	long insns;
};

#include <asm/lua_setjmp.h>

/* errors: the arch setjmp, recording which thread is running */
struct lua_State *luak_try_enter(void *ud, struct lua_State *L);
void luak_try_leave(void *ud, struct lua_State *prev);
void __noreturn luak_throw(struct lua_jmp_buf *buf);
void luak_tick(struct lua_State *L, void *ud);
unsigned int luak_makeseed(void);

#if defined(LUA_CORE)

/*
 * The VM's CALL opcode leaves lua_syscall's sys.NAME() functions to it:
 * a nested system call needs no CallInfo (kernel/lua/lua_syslib.c).
 */
#ifdef CONFIG_LUA_SYSCALL
union StackValue;
int lua_syscall_call_inplace(struct lua_State *L, union StackValue *func,
			     int nresults);
#define luai_callinplace(L, func, nresults)				\
	lua_syscall_call_inplace((L), (func), (nresults))
#endif

/*
 * The instruction budget: the VM charges each loop its body's length every
 * time around and each function call the function's length, a bound on
 * the instructions it runs; every LUAK_CHECK_PERIOD of them, the call is
 * checked (lua_runtime.c).  Every use has 'L' in scope and lstate.h.
 */
void luak_charge_due(struct lua_State *L);
#define luai_chargecode(L, n)						\
	((((struct luak_ticks *)G(L)->ud)->insns -= (n)) < 0)
#define luai_chargedue(L)	luak_charge_due(L)

#define luai_jmpbuf		struct lua_jmp_buf
#define LUAI_THROW(L, c)	((void)(L), luak_throw(&(c)->b))
#define LUAI_TRY(L, c, a)						\
	do {								\
		struct lua_State *luak_L_ = (L);			\
		struct lua_State *luak_prev_;				\
									\
		luak_prev_ = luak_try_enter(G(luak_L_)->ud, luak_L_);	\
		if (lua_setjmp(&(c)->b) == 0) {				\
			a						\
		}							\
		luak_try_leave(G(luak_L_)->ud, luak_prev_);		\
	} while (0)

/*
 * Every API entry point takes 'lua_lock': count them, so that C loops of
 * the libraries (table.move, table.insert with a huge __len, ...) are
 * charged to the instruction budget and can be stopped.
 */
#define lua_lock(L)							\
	do {								\
		struct lua_State *luak_L_ = (L);			\
		struct luak_ticks *luak_t_ = G(luak_L_)->ud;		\
									\
		if (__builtin_expect(--luak_t_->left < 0, 0))		\
			luak_tick(luak_L_, luak_t_);			\
	} while (0)
#define lua_unlock(L)		((void)(L))
#define luai_threadyield(L)	((void)(L))
/* the type of lua_State.hookmask, set asynchronously in userspace */
#define l_signalT		int

#define luai_makeseed(L)	((void)(L), luak_makeseed())

/*
 * An error with no handler at all: every entry into a state is protected,
 * so this is a bug, and luaD_throw() cannot return.  (The kernel's abort()
 * is weak and objtool does not know it does not return.)
 */
#define abort()			BUG()

#endif /* LUA_CORE */

unsigned int luak_random32(void);
#define l_randomizePivot()	luak_random32()

/* The byte loops of shim/string.h, charged to the instruction budget. */
int luak_memcmp(const void *a, const void *b, size_t n);
void *luak_memchr(const void *s, int c, size_t n);
char *luak_strpbrk(const char *s, const char *accept);
int luak_strcoll(const char *a, const char *b);

/* --- output ------------------------------------------------------------ */

void luak_writestring(const char *s, size_t len);
void luak_writestringerror(const char *fmt, const char *p);
#define lua_writestring(s, l)	luak_writestring((s), (l))
#define lua_writeline()		luak_writestring("\n", 1)
#define lua_writestringerror(s, p)	luak_writestringerror((s), (p))

#endif /* LUACONF_H */
