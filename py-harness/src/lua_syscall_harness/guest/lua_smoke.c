// SPDX-License-Identifier: GPL-2.0-only
/*
 * The smoke test `series check` runs where the guest has no Python (arm64):
 * register a one-line script and run it once through the raw system calls,
 * as a program built against the commit's own headers would.  Prints
 * "lua_syscall: 42" and exits 0 when both calls work.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* scripts/syscall.tbl: the generic numbers, the same in x86-64's table. */
#define NR_REGISTER_LUA_SYSCALL 463
#define NR_LUA_SYSCALL 464

int main(void)
{
	static const char script[] = "return function(a) return a + 1 end";
	uint64_t args[1] = { 41 };
	uint64_t reg[9] = { 0 };	/* struct lua_syscall_reg, 72 bytes */
	long fd, ret;

	/*
	 * register_lua_syscall(&reg, sizeof(reg)) since the series made its
	 * argument a struct, (script, len, flags) before: each refuses the
	 * other's arguments with EINVAL.
	 */
	reg[0] = (uintptr_t)script;
	reg[1] = strlen(script);
	fd = syscall(NR_REGISTER_LUA_SYSCALL, reg, sizeof(reg));
	if (fd < 0 && errno == EINVAL)
		fd = syscall(NR_REGISTER_LUA_SYSCALL, script, strlen(script), 0);
	if (fd < 0) {
		printf("register_lua_syscall: %s\n", strerror(errno));
		return 1;
	}
	ret = syscall(NR_LUA_SYSCALL, fd, args, 1, 0);
	if (ret < 0) {
		printf("lua_syscall: %s\n", strerror(errno));
		return 1;
	}
	printf("lua_syscall: %ld\n", ret);
	close(fd);
	return ret == 42 ? 0 : 1;
}
