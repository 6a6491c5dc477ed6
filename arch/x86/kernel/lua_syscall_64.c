// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86-64 system call dispatch for lua_syscall.
 *
 * A script's nested system call runs the same handler a user-space call
 * would, through x64_sys_call(), with a pt_regs of its own: a copy of the
 * task's user register frame (lua_nested_syscall_frame()) with the nested
 * call's number and arguments.
 * The real frame belongs to the outer lua_syscall() and is never written.
 * The calls that would need that frame are denied.
 */
#include <linux/errno.h>
#include <linux/lua_syscall.h>
#include <linux/ptrace.h>
#include <asm/unistd.h>

/* Read on every nested call: see <linux/lua_syscall.h>. */
const u8 arch_lua_syscall_deny[NR_syscalls] = {
	/* process creation: the child would return to the copied frame */
	[__NR_fork] = 1,
	[__NR_vfork] = 1,
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
	/* they change the real frame's flags or segments, or what loads them */
	[__NR_iopl] = 1,
	[__NR_ioperm] = 1,
	[__NR_modify_ldt] = 1,
	[__NR_arch_prctl] = 1,
	/* uprobes' return trampoline rewrites the real user frame */
	[__NR_uretprobe] = 1,
	/* the shadow stack belongs to the real user frame */
	[__NR_map_shadow_stack] = 1,
	/* a script does not start or run scripts */
	[__NR_register_lua_syscall] = 1,
	[__NR_lua_syscall] = 1,
};

void arch_lua_syscall_args(const struct pt_regs *regs, unsigned long *args)
{
	args[0] = regs->di;
	args[1] = regs->si;
	args[2] = regs->dx;
	args[3] = regs->r10;
	args[4] = regs->r8;
	args[5] = regs->r9;
}
