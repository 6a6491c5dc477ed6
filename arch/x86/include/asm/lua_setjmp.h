/* SPDX-License-Identifier: GPL-2.0 */
/*
 * setjmp/longjmp for the in-kernel Lua runtime (kernel/lua/).
 *
 * The Lua core raises errors with a non-local jump back to the nearest
 * protected call.  Only that runtime may use these helpers: a jump skips
 * every C frame in between, so the code it skips must own no locks,
 * references or other resources.
 */
#ifndef _ASM_X86_LUA_SETJMP_H
#define _ASM_X86_LUA_SETJMP_H

#include <linux/compiler.h>

/* The callee-saved registers of the x86-64 ABI, the stack and return address. */
struct lua_jmp_buf {
	unsigned long rbx;
	unsigned long rbp;
	unsigned long r12;
	unsigned long r13;
	unsigned long r14;
	unsigned long r15;
	unsigned long rsp;	/* %rsp once lua_setjmp() has returned */
	unsigned long rip;	/* where lua_setjmp() returns to */
};

/**
 * lua_setjmp() - save the calling context
 * @buf: where to save it
 *
 * Return: 0 when called, or the non-zero value given to lua_longjmp() when
 * that function jumps back here.
 */
int lua_setjmp(struct lua_jmp_buf *buf) __attribute__((__returns_twice__));

/**
 * lua_longjmp() - return a second time from lua_setjmp()
 * @buf: context saved by lua_setjmp(), whose caller must still be running
 * @val: value lua_setjmp() returns; 0 is turned into 1
 */
void __noreturn lua_longjmp(struct lua_jmp_buf *buf, int val);

/* The stack pointer lua_longjmp() will restore: the KASAN watermark. */
static inline unsigned long lua_jmp_buf_sp(const struct lua_jmp_buf *buf)
{
	return buf->rsp;
}

#endif /* _ASM_X86_LUA_SETJMP_H */
