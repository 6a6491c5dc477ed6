/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86-64 register setup and dispatch of lua_syscall's nested system calls,
 * inline: they are on the path of every nested call.  See
 * <linux/lua_syscall.h>.
 */
#ifndef _ASM_X86_LUA_SYSCALL_H
#define _ASM_X86_LUA_SYSCALL_H

#include <linux/errno.h>
#include <linux/nospec.h>
#include <asm/ptrace.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

static __always_inline void arch_lua_syscall_regs(struct pt_regs *regs,
						  unsigned int nr,
						  const unsigned long *args)
{
	regs->di = args[0];
	regs->si = args[1];
	regs->dx = args[2];
	regs->r10 = args[3];
	regs->r8 = args[4];
	regs->r9 = args[5];
	regs->orig_ax = nr;
	regs->ax = -ENOSYS;
}

static __always_inline long arch_lua_syscall(struct pt_regs *regs,
					     unsigned int nr)
{
	if (nr >= NR_syscalls)
		return -ENOSYS;
	/* As do_syscall_x64(): no speculative dispatch past the table. */
	nr = array_index_nospec(nr, NR_syscalls);
	return x64_sys_call(regs, nr);
}

#endif /* _ASM_X86_LUA_SYSCALL_H */
