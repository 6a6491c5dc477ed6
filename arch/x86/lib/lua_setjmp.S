/* SPDX-License-Identifier: GPL-2.0 */
/*
 * setjmp/longjmp for the in-kernel Lua runtime, see <asm/lua_setjmp.h>.
 *
 * lua_longjmp() does not jump to the saved return address: it switches to
 * the saved stack, stores the return address back into the slot the call
 * to lua_setjmp() pushed it into and returns through it.  A return needs
 * no ENDBR at its target, so this works with IBT, and it goes through the
 * return thunk like every other kernel return.
 */

#include <linux/linkage.h>
#include <asm/unwind_hints.h>

#define JB_RBX	0
#define JB_RBP	8
#define JB_R12	16
#define JB_R13	24
#define JB_R14	32
#define JB_R15	40
#define JB_RSP	48
#define JB_RIP	56

	.text

/* int lua_setjmp(struct lua_jmp_buf *buf) */
SYM_FUNC_START(lua_setjmp)
	movq	%rbx, JB_RBX(%rdi)
	movq	%rbp, JB_RBP(%rdi)
	movq	%r12, JB_R12(%rdi)
	movq	%r13, JB_R13(%rdi)
	movq	%r14, JB_R14(%rdi)
	movq	%r15, JB_R15(%rdi)
	leaq	8(%rsp), %rax		/* the caller's %rsp after our return */
	movq	%rax, JB_RSP(%rdi)
	movq	(%rsp), %rax		/* our return address */
	movq	%rax, JB_RIP(%rdi)
	xorl	%eax, %eax
	RET
SYM_FUNC_END(lua_setjmp)

/* void lua_longjmp(struct lua_jmp_buf *buf, int val) */
SYM_FUNC_START(lua_longjmp)
	movl	$1, %eax
	testl	%esi, %esi
	cmovnzl	%esi, %eax		/* lua_setjmp() returns val, or 1 */
	movq	JB_RBX(%rdi), %rbx
	movq	JB_RBP(%rdi), %rbp
	movq	JB_R12(%rdi), %r12
	movq	JB_R13(%rdi), %r13
	movq	JB_R14(%rdi), %r14
	movq	JB_R15(%rdi), %r15
	movq	JB_RIP(%rdi), %rdx
	movq	JB_RSP(%rdi), %rsp
	UNWIND_HINT_UNDEFINED
	pushq	%rdx
	UNWIND_HINT_FUNC
	RET
SYM_FUNC_END(lua_longjmp)
