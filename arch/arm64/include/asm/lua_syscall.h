/* SPDX-License-Identifier: GPL-2.0 */
/*
 * arm64 register setup and dispatch of lua_syscall's nested system calls,
 * inline: they are on the path of every nested call.  See
 * <linux/lua_syscall.h>.
 */
#ifndef _ASM_ARM64_LUA_SYSCALL_H
#define _ASM_ARM64_LUA_SYSCALL_H

#include <linux/errno.h>
#include <linux/nospec.h>
#include <asm/ptrace.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

static __always_inline void arch_lua_syscall_regs(struct pt_regs *regs,
						  unsigned int nr,
						  const unsigned long *args)
{
	int i;

	for (i = 0; i < LUA_SYSCALL_NR_ARGS; i++)
		regs->regs[i] = args[i];
	/* syscall_get_arguments() takes the first argument from orig_x0. */
	regs->orig_x0 = args[0];
	regs->regs[8] = nr;
	regs->syscallno = nr;
}

static __always_inline long arch_lua_syscall(struct pt_regs *regs,
					     unsigned int nr)
{
	if (nr >= NR_syscalls)
		return -ENOSYS;
	/* As invoke_syscall(): no speculative dispatch past the table. */
	nr = array_index_nospec(nr, NR_syscalls);
	return sys_call_table[nr](regs);
}

#endif /* _ASM_ARM64_LUA_SYSCALL_H */
