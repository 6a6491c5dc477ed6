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
#include <linux/nospec.h>
#include <linux/ptrace.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

bool arch_lua_syscall_denied(unsigned int nr)
{
	switch (nr) {
	/* process creation: the child would return to the copied frame */
	case __NR_fork:
	case __NR_vfork:
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
	/* they change the real frame's flags or segments, or what loads them */
	case __NR_iopl:
	case __NR_ioperm:
	case __NR_modify_ldt:
	case __NR_arch_prctl:
	/* uprobes' return trampoline rewrites the real user frame */
	case __NR_uretprobe:
	/* the shadow stack belongs to the real user frame */
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
	regs->di = args[0];
	regs->si = args[1];
	regs->dx = args[2];
	regs->r10 = args[3];
	regs->r8 = args[4];
	regs->r9 = args[5];
	regs->orig_ax = nr;
	regs->ax = -ENOSYS;
}

void arch_lua_syscall_args(const struct pt_regs *regs, unsigned long *args)
{
	args[0] = regs->di;
	args[1] = regs->si;
	args[2] = regs->dx;
	args[3] = regs->r10;
	args[4] = regs->r8;
	args[5] = regs->r9;
}

long arch_lua_syscall(struct pt_regs *regs, unsigned int nr)
{
	if (nr >= NR_syscalls)
		return -ENOSYS;
	/* As do_syscall_x64(): no speculative dispatch past the table. */
	nr = array_index_nospec(nr, NR_syscalls);
	return x64_sys_call(regs, nr);
}
