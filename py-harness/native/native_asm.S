/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The thunks the kernel objects of the replica jump through, in the kernel's shapes
 * (arch/x86/lib/retpoline.S as patched at boot on a CPU with retpolines and ITS's aligned
 * return thunk, as this host's kernel reports), and the switch to the task's stack.
 *
 * NC_RETHUNK: returns (and the retpoline's own) go through __x86_return_thunk, a `ret` in
 * the upper half of a cache line (its_return_thunk); otherwise plain `ret`.
 */
	.text

#ifdef NC_RETHUNK
#define NC_RET	jmp __x86_return_thunk
#else
#define NC_RET	ret; int3
#endif

/* call .Ldo_rop; int3; .Ldo_rop: mov %reg, (%rsp); RET -- 32 bytes apart, as the kernel's */
.macro THUNK reg
	.balign 32, 0xcc
	.globl __x86_indirect_thunk_\reg
	.type __x86_indirect_thunk_\reg, @function
__x86_indirect_thunk_\reg:
	call	1f
	int3
1:	mov	%\reg, (%rsp)
	NC_RET
	.size __x86_indirect_thunk_\reg, .-__x86_indirect_thunk_\reg
.endm

	.balign 64, 0xcc
	THUNK rax
	THUNK rbx
	THUNK rcx
	THUNK rdx
	THUNK rsi
	THUNK rdi
	THUNK rbp
	THUNK r8
	THUNK r9
	THUNK r10
	THUNK r11
	THUNK r12
	THUNK r13
	THUNK r14
	THUNK r15

	.balign 64, 0xcc
	.skip 32, 0xcc
	.globl __x86_return_thunk
	.type __x86_return_thunk, @function
__x86_return_thunk:
	ret
	int3
	.size __x86_return_thunk, .-__x86_return_thunk

/*
 * long nc_on_stack(long (*fn)(void *), void *arg, void *top): call fn(arg) with the stack
 * pointer at top (16-byte aligned), as the entry code runs a system call on the task's
 * stack below its register frame.
 */
	.balign 16
	.globl nc_on_stack
	.type nc_on_stack, @function
nc_on_stack:
	push	%rbp
	mov	%rsp, %rbp
	and	$-16, %rdx
	mov	%rdx, %rsp
	mov	%rdi, %rax
	mov	%rsi, %rdi
	call	*%rax
	mov	%rbp, %rsp
	pop	%rbp
	ret
	.size nc_on_stack, .-nc_on_stack

	.section .note.GNU-stack,"",@progbits
