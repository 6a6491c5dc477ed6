/* SPDX-License-Identifier: GPL-2.0 */
/*
 * setjmp/longjmp for the in-kernel Lua runtime, see <asm/lua_setjmp.h>.
 *
 * lua_longjmp() does not branch to the saved return address: it restores
 * x30 and the stack and returns through them with RET.  RET needs no BTI
 * landing pad at its target; both functions are only ever called with BL,
 * and SYM_FUNC_START gives them the "bti c" a call needs under
 * CONFIG_ARM64_BTI_KERNEL.
 *
 * Pointer authentication: with CONFIG_ARM64_PTR_AUTH_KERNEL the return
 * address is kept in the buffer signed, as the compiler keeps return
 * addresses on the stack: PACIASP with the caller's stack pointer as the
 * modifier.  lua_longjmp() authenticates it with AUTIASP once that stack
 * pointer is restored, so that a corrupted buffer faults instead of
 * jumping.  Both are HINT instructions, NOPs where the CPU lacks the
 * feature.
 *
 * Shadow call stack: x18 is saved and restored, which unwinds the shadow
 * stack by the frames the jump skips.  Without CONFIG_SHADOW_CALL_STACK,
 * x18 is a temporary register and restoring it does no harm.
 */

#include <linux/linkage.h>
#include <asm/assembler.h>

#define JB_X19	0
#define JB_X21	16
#define JB_X23	32
#define JB_X25	48
#define JB_X27	64
#define JB_FP	80
#define JB_SP	96

#ifdef CONFIG_ARM64_PTR_AUTH_KERNEL
#define LUA_PACIASP	hint	#25	/* paciasp */
#define LUA_AUTIASP	hint	#29	/* autiasp */
#else
#define LUA_PACIASP
#define LUA_AUTIASP
#endif

	.text

/* int lua_setjmp(struct lua_jmp_buf *buf) */
SYM_FUNC_START(lua_setjmp)
	LUA_PACIASP
	stp	x19, x20, [x0, #JB_X19]
	stp	x21, x22, [x0, #JB_X21]
	stp	x23, x24, [x0, #JB_X23]
	stp	x25, x26, [x0, #JB_X25]
	stp	x27, x28, [x0, #JB_X27]
	stp	x29, x30, [x0, #JB_FP]
	mov	x9, sp
	stp	x9, x18, [x0, #JB_SP]
	LUA_AUTIASP
	mov	w0, #0
	ret
SYM_FUNC_END(lua_setjmp)

/* void lua_longjmp(struct lua_jmp_buf *buf, int val) */
SYM_FUNC_START(lua_longjmp)
	ldp	x19, x20, [x0, #JB_X19]
	ldp	x21, x22, [x0, #JB_X21]
	ldp	x23, x24, [x0, #JB_X23]
	ldp	x25, x26, [x0, #JB_X25]
	ldp	x27, x28, [x0, #JB_X27]
	ldp	x29, x30, [x0, #JB_FP]
	ldp	x9, x18, [x0, #JB_SP]
	mov	sp, x9
	cmp	w1, #0
	csinc	w0, w1, wzr, ne		/* lua_setjmp() returns val, or 1 */
	LUA_AUTIASP
	ret
SYM_FUNC_END(lua_longjmp)
