// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of register_lua_syscall() and lua_syscall().
 *
 * Every test skips, rather than fails, on a kernel without the syscalls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../kselftest_harness.h"

#ifndef __NR_register_lua_syscall
#define __NR_register_lua_syscall 463
#endif

static const char null_script[] = "return function() return 0 end";

static int sys_register_lua_syscall(const char *script, size_t len,
				    unsigned int flags)
{
	return syscall(__NR_register_lua_syscall, script, len, flags);
}

TEST(register_rejects_unknown_flags)
{
	int fd = sys_register_lua_syscall(null_script, sizeof(null_script) - 1,
					  ~0U);

	if (fd < 0 && errno == ENOSYS)
		SKIP(return, "register_lua_syscall() is not supported");
	ASSERT_EQ(-1, fd);
	ASSERT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
