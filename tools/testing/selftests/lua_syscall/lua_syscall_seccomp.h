/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A seccomp filter with one rule, for the tests that put nested calls in
 * front of seccomp: @action for system call @nr of this arch (when its first
 * argument's low 32 bits are @arg, unless @arg is ANY_ARG), everything else
 * allowed.  A nested call seen with another arch is allowed, so a wrong
 * arch in the synthetic seccomp_data fails the tests.  Include it after
 * kselftest_harness.h (ARRAY_SIZE).
 */
#ifndef __LUA_SYSCALL_SECCOMP_H
#define __LUA_SYSCALL_SECCOMP_H

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define LUA_AUDIT_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define LUA_AUDIT_ARCH	AUDIT_ARCH_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define LUA_AUDIT_ARCH	AUDIT_ARCH_RISCV64
#endif

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ARG0_LO	(offsetof(struct seccomp_data, args[0]) + 4)
#else
#define ARG0_LO	offsetof(struct seccomp_data, args[0])
#endif

#define ANY_ARG	(~0ULL)

#ifdef LUA_AUDIT_ARCH
static inline int install_filter_flags(long nr, unsigned long long arg,
				       __u32 action, unsigned int flags)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, LUA_AUDIT_ARCH, 0, 6),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)arg,
			 1, arg == ANY_ARG ? 1 : 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = ARRAY_SIZE(filter),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static inline int install_filter(long nr, unsigned long long arg,
				 __u32 action)
{
	return install_filter_flags(nr, arg, action, 0);
}
#endif /* LUA_AUDIT_ARCH */

#endif /* __LUA_SYSCALL_SECCOMP_H */
