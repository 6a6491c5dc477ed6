// SPDX-License-Identifier: GPL-2.0
/*
 * The profiled workloads, run in the guest under the insn_profile QEMU plugin.
 *
 *   profile_guest mark                  one marker (a plugin snapshot) and exit
 *   profile_guest <workload> <n>        marker, n iterations of the workload, marker
 *
 * Workloads: getppid (a direct null system call), null-lua (lua_syscall() of an empty
 * script), lua-getppid-0 / lua-getppid-64 (one lua_syscall() whose script calls
 * sys.getppid() 0 or 64 times; their difference / 64 is one nested call).
 * System calls are made with the `syscall` instruction inline, so no libc code runs
 * between the markers. Every result is checked: a failing call exits non-zero.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../loadgen/lua_syscall_user.h"

static inline void marker(void)
{
	asm volatile("xchg %%bx, %%bx" ::: "memory");
}

static inline long raw_syscall4(long nr, long a0, long a1, long a2, long a3)
{
	register long r10 asm("r10") = a3;
	long ret;

	asm volatile("syscall"
		     : "=a"(ret)
		     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
		     : "rcx", "r11", "memory");
	return ret;
}

static const char nested_script[] =
	"local getppid = sys.getppid\n"
	"return function(n) local r = 0\n"
	"  for _ = 1, n do r = getppid() end\n"
	"  return r end\n";

static int run_lua(const char *script, long n, unsigned int nargs, uint64_t arg, long want)
{
	uint64_t args[1] = { arg };
	int fd = register_lua_syscall(script);

	if (fd < 0) {
		perror("register_lua_syscall");
		return 1;
	}
	marker();
	for (long i = 0; i < n; i++) {
		long ret = raw_syscall4(__NR_lua_syscall, fd, (long)args, nargs, 0);

		if (ret != want) {
			marker();
			fprintf(stderr, "lua_syscall returned %ld, expected %ld\n", ret, want);
			return 1;
		}
	}
	marker();
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	long n, ppid = getppid();

	if (argc == 2 && !strcmp(argv[1], "mark")) {
		marker();
		return 0;
	}
	if (argc != 3 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: %s mark | <workload> <iterations>\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "getppid")) {
		marker();
		for (long i = 0; i < n; i++)
			if (raw_syscall4(__NR_getppid, 0, 0, 0, 0) != ppid)
				return 1;
		marker();
		return 0;
	}
	if (!strcmp(argv[1], "null-lua"))
		return run_lua("return function() end", n, 0, 0, 0);
	if (!strcmp(argv[1], "lua-getppid-0"))
		return run_lua(nested_script, n, 1, 0, 0);
	if (!strcmp(argv[1], "lua-getppid-64"))
		return run_lua(nested_script, n, 1, 64, ppid);
	fprintf(stderr, "unknown workload %s\n", argv[1]);
	return 2;
}
