/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What lua_syscall needs from an architecture: dispatch of a system call by
 * number from kernel code with the current task's context, and which system
 * calls a script may not make.  The names come from the arch's generated
 * uapi <asm/unistd_64.h> (kernel/lua/Makefile).
 */
#ifndef _LINUX_LUA_SYSCALL_H
#define _LINUX_LUA_SYSCALL_H

#include <linux/types.h>

struct pt_regs;
struct seccomp_nested;

#define LUA_SYSCALL_NR_ARGS	6

/*
 * On the path of every nested call, so inline, from the arch:
 *
 * arch_lua_syscall_regs(regs, nr, args) sets up the register frame of a
 * nested system call: @regs, a copy of the task's user register frame from
 * lua_nested_syscall_frame(), gets @nr and the LUA_SYSCALL_NR_ARGS @args
 * where the system call's handler and tracing read them.
 *
 * arch_lua_syscall(regs, nr) runs the handler of system call @nr for the
 * current task with the frame @regs, and returns what it returns, or
 * -ENOSYS for a number past the system call table.  Only the dispatch: the
 * entry and exit work (seccomp, tracing, task work) is
 * lua_nested_syscall()'s.  Not for the calls arch_lua_syscall_deny[]
 * names.
 */
#include <asm/lua_syscall.h>

/*
 * arch_lua_syscall_deny[nr] (NR_syscalls entries) is 1 for the system calls a
 * script may not make: those that need the caller's real user register frame
 * or never return (process creation, exec, exit, signal return, restart, the
 * arch specials) and lua_syscall's own two.  A table, not a function: it is
 * read on every nested call.
 */
extern const u8 arch_lua_syscall_deny[];

/**
 * arch_lua_syscall_args - the arguments a system call's handler would read
 * @regs: a user register frame at a system call, possibly changed by a
 *	ptrace tracer at its entry stop
 * @args: filled with the six arguments
 *
 * The inverse of arch_lua_syscall_regs(), from the registers the handler
 * reads (on arm64 x0, not orig_x0, which a tracer cannot change).
 */
void arch_lua_syscall_args(const struct pt_regs *regs, unsigned long *args);

void lua_nested_syscall_frame(struct pt_regs *frame);
long lua_nested_syscall(struct pt_regs *regs, unsigned int nr,
			const unsigned long *args,
			struct seccomp_nested *verdict);

#endif /* _LINUX_LUA_SYSCALL_H */
