// SPDX-License-Identifier: GPL-2.0-only
/*
 * arm64 system call dispatch for lua_syscall.
 *
 * A script's nested system call runs the same handler a user-space call
 * would, from the native sys_call_table, with a pt_regs of its own: a copy
 * of the task's user register frame (lua_nested_syscall_frame()) with the
 * nested call's number and arguments, laid out as el0_svc_common() leaves
 * it (x0-x5, orig_x0, syscallno).  The real frame belongs to the outer lua_syscall() and is
 * never written.  The calls that would need that frame are denied.
 *
 * Compat (AArch32) tasks have no lua_syscall (ENOSYS: the calls are not in
 * the compat table), so only the native table is used.
 */
#include <linux/errno.h>
#include <linux/lua_syscall.h>
#include <linux/nospec.h>
#include <linux/ptrace.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

bool arch_lua_syscall_denied(unsigned int nr)
{
	switch (nr) {
	/* process creation: the child would return to the copied frame */
	case __NR_clone:
	case __NR_clone3:
	/* exec replaces the frame, exit never returns */
	case __NR_execve:
	case __NR_execveat:
	case __NR_exit:
	case __NR_exit_group:
	/* they restore or restart from the real user frame */
	case __NR_rt_sigreturn:
	case __NR_restart_syscall:
	/*
	 * the shadow stack belongs to the real user frame (no guarded
	 * control stack on arm64 in this tree yet)
	 */
	case __NR_map_shadow_stack:
	/* a script does not start or run scripts */
	case __NR_register_lua_syscall:
	case __NR_lua_syscall:
		return true;
	default:
		return false;
	}
}

void arch_lua_syscall_regs(struct pt_regs *regs, unsigned int nr,
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

void arch_lua_syscall_args(const struct pt_regs *regs, unsigned long *args)
{
	int i;

	for (i = 0; i < LUA_SYSCALL_NR_ARGS; i++)
		args[i] = regs->regs[i];
}

long arch_lua_syscall(struct pt_regs *regs, unsigned int nr)
{
	if (nr >= NR_syscalls)
		return -ENOSYS;
	/* As invoke_syscall(): no speculative dispatch past the table. */
	nr = array_index_nospec(nr, NR_syscalls);
	return sys_call_table[nr](regs);
}
