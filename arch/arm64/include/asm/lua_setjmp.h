/* SPDX-License-Identifier: GPL-2.0 */
/*
 * setjmp/longjmp for the in-kernel Lua runtime (kernel/lua/).
 *
 * The Lua core raises errors with a non-local jump back to the nearest
 * protected call.  Only that runtime may use these helpers: a jump skips
 * every C frame in between, so the code it skips must own no locks,
 * references or other resources.
 *
 * The kernel is built with -mgeneral-regs-only: no C code, the Lua core
 * included, keeps a value in the callee-saved d8-d15, so only the general
 * purpose registers are saved.
 */
#ifndef __ASM_LUA_SETJMP_H
#define __ASM_LUA_SETJMP_H

#include <linux/compiler.h>

/*
 * The callee-saved registers of the AAPCS64, the frame record, the stack
 * pointer and x18, the shadow call stack pointer.
 */
struct lua_jmp_buf {
	unsigned long x19;
	unsigned long x20;
	unsigned long x21;
	unsigned long x22;
	unsigned long x23;
	unsigned long x24;
	unsigned long x25;
	unsigned long x26;
	unsigned long x27;
	unsigned long x28;
	unsigned long fp;	/* x29 */
	unsigned long lr;	/* x30: where lua_setjmp() returns to, PAC-signed */
	unsigned long sp;	/* sp of the caller of lua_setjmp() */
	unsigned long x18;	/* shadow call stack pointer */
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
	return buf->sp;
}

#endif /* __ASM_LUA_SETJMP_H */
