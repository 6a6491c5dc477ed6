/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What lua_syscall needs from an architecture: dispatch of a system call by
 * number from kernel code with the current task's context, the names of its
 * system calls, and which of them a script may not make.
 */
#ifndef _LINUX_LUA_SYSCALL_H
#define _LINUX_LUA_SYSCALL_H

#include <linux/types.h>

#define LUA_SYSCALL_NR_ARGS	6

/**
 * struct lua_syscall_name - a system call of the running kernel
 * @name: its name, without "sys_" (as in the uapi __NR_ macro)
 * @nr: its number
 */
struct lua_syscall_name {
	const char *name;
	unsigned int nr;
};

/* Sorted by name, for bsearch(). */
extern const struct lua_syscall_name arch_lua_syscall_names[];
extern const unsigned int arch_lua_syscall_nr_names;

/**
 * arch_lua_syscall_denied - may a script not make this system call?
 * @nr: the system call number
 *
 * True for the calls that need the caller's real user register frame or
 * never return: process creation, exec, exit, signal return, restart, the
 * arch specials, and lua_syscall's own two.
 */
bool arch_lua_syscall_denied(unsigned int nr);

/**
 * arch_lua_syscall - make a system call on behalf of the current task
 * @nr: the system call number, below arch_lua_syscall_nr_max()
 * @args: its arguments
 *
 * Runs the system call's implementation in the current context, as if the
 * task had made it, but without the entry work (seccomp, ptrace, audit):
 * the caller does what of that it needs.  Must not be used for calls for
 * which arch_lua_syscall_denied() is true.
 *
 * Return: what the system call returns.
 */
long arch_lua_syscall(unsigned int nr, const unsigned long *args);

unsigned int arch_lua_syscall_nr_max(void);

#endif /* _LINUX_LUA_SYSCALL_H */
