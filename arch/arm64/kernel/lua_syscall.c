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
#include <linux/ptrace.h>
#include <asm/unistd.h>

/* Read on every nested call: see <linux/lua_syscall.h>. */
const u8 arch_lua_syscall_deny[NR_syscalls] = {
	/* process creation: the child would return to the copied frame */
	[__NR_clone] = 1,
	[__NR_clone3] = 1,
	/* exec replaces the frame, exit never returns */
	[__NR_execve] = 1,
	[__NR_execveat] = 1,
	[__NR_exit] = 1,
	[__NR_exit_group] = 1,
	/* they restore or restart from the real user frame */
	[__NR_rt_sigreturn] = 1,
	[__NR_restart_syscall] = 1,
	/*
	 * the shadow stack belongs to the real user frame (no guarded
	 * control stack on arm64 in this tree yet)
	 */
	[__NR_map_shadow_stack] = 1,
	/* a script does not start or run scripts */
	[__NR_register_lua_syscall] = 1,
	[__NR_lua_syscall] = 1,
};

void arch_lua_syscall_args(const struct pt_regs *regs, unsigned long *args)
{
	int i;

	for (i = 0; i < LUA_SYSCALL_NR_ARGS; i++)
		args[i] = regs->regs[i];
}
