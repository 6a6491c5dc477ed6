// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of register_lua_syscall() and lua_syscall(): the errnos of the ABI,
 * the [luastate] fd, arguments and results, persistence, read() and
 * fdinfo, and the limits.
 *
 * Every test skips, rather than fails, on a kernel without the syscalls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "lua_syscall_util.h"

static const char null_script[] = "return function() return 0 end";

static const char counter_script[] =
	"local n = 0\n"
	"return function(k)\n"
	"  n = n + (k or 1)\n"
	"  return n\n"
	"end\n";

TEST(register_rejects_unknown_flags)
{
	int fd = sys_register_lua_syscall(null_script, sizeof(null_script) - 1,
					  ~0U);

	if (fd < 0 && errno == ENOSYS)
		SKIP(return, "register_lua_syscall() is not supported");
	ASSERT_EQ(-1, fd);
	ASSERT_EQ(EINVAL, errno);

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	ASSERT_EQ(-1, sys_register_lua_syscall(null_script,
					       sizeof(null_script) - 1, 0x2));
	ASSERT_EQ(EINVAL, errno);
	/* the flag is not O_CLOEXEC's value */
	ASSERT_EQ(-1, sys_register_lua_syscall(null_script,
					       sizeof(null_script) - 1,
					       O_CLOEXEC));
	ASSERT_EQ(EINVAL, errno);
}

TEST(register_rejects_zero_len)
{
	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	ASSERT_EQ(-1, sys_register_lua_syscall(null_script, 0, 0));
	ASSERT_EQ(EINVAL, errno);
}

TEST(register_rejects_bad_pointers)
{
	size_t len = sizeof(null_script) - 1;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	ASSERT_EQ(-1, sys_register_lua_syscall(NULL, len, 0));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, sys_register_lua_syscall(lua_unmapped_addr(), len, 0));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, sys_register_lua_syscall(LUA_KERNEL_ADDR, len, 0));
	ASSERT_EQ(EFAULT, errno);
}

TEST(register_rejects_too_long)
{
	long long max = lua_read_sysctl("max_script_len");
	char *buf;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	ASSERT_LT(0, max);
	buf = malloc(max + 1);
	ASSERT_NE(NULL, buf);
	memset(buf, ' ', max + 1);
	memcpy(buf, null_script, sizeof(null_script) - 1);

	ASSERT_EQ(-1, sys_register_lua_syscall(buf, max + 1, 0));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_EQ(-1, sys_register_lua_syscall(buf, 1ULL << 40, 0));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_EQ(-1, sys_register_lua_syscall(buf, SIZE_MAX, 0));
	ASSERT_EQ(E2BIG, errno);
	free(buf);
}

TEST(register_rejects_bad_chunks)
{
	static const char binary[] = "\x1bLuaT\x00\x19\x93\r\n\x1a\n\x04\x08\x08";
	static const char * const bad[] = {
		"return function(",			/* syntax error */
		"local x = 1",				/* returns nothing */
		"return 42",				/* not a function */
		"return {}",
		"return 'function'",
		"return function() return 1.5 end",	/* no floats */
	};
	unsigned int i;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, lua_register(bad[i])) {
			TH_LOG("registered: %s", bad[i]);
		}
		EXPECT_EQ(EINVAL, errno);
	}
	ASSERT_EQ(-1, sys_register_lua_syscall(binary, sizeof(binary) - 1, 0));
	ASSERT_EQ(EINVAL, errno);
}

TEST(register_top_level_runtime_error)
{
	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	ASSERT_EQ(-1, lua_register("error('boom')"));
	ASSERT_EQ(ENOEXEC, errno);
	ASSERT_EQ(-1, lua_register("local x = nil; x()"));
	ASSERT_EQ(ENOEXEC, errno);
	/* the sandbox: no loaders, no io, os or debug */
	ASSERT_EQ(-1, lua_register("return load('return function() end')()"));
	ASSERT_EQ(ENOEXEC, errno);
	ASSERT_EQ(-1, lua_register("io.write('x') return function() end"));
	ASSERT_EQ(ENOEXEC, errno);
	ASSERT_EQ(-1, lua_register("os.exit(0)"));
	ASSERT_EQ(ENOEXEC, errno);
}

TEST(fd_is_a_luastate)
{
	char path[64], link[64] = "";
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(null_script);
	ASSERT_LE(0, fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ASSERT_LT(0, readlink(path, link, sizeof(link) - 1));
	ASSERT_STREQ(LUA_STATE_LINK, link);
	ASSERT_EQ(0, lua_call0(fd));
	EXPECT_EQ(0, close(fd));
}

TEST(fd_cloexec)
{
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = sys_register_lua_syscall(null_script, sizeof(null_script) - 1,
				      LUA_SYSCALL_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	fd = lua_register(null_script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

TEST(fd_close)
{
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(counter_script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, lua_call1(fd, 1));
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(-1, lua_call1(fd, 1));
	ASSERT_EQ(EBADF, errno);
}

TEST(fd_dup_shares_the_state)
{
	int fd, fd2;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(counter_script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, lua_call1(fd, 1));
	fd2 = dup(fd);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(11, lua_call1(fd2, 10));
	ASSERT_EQ(12, lua_call1(fd, 1));
	/* the dup keeps the state alive */
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(13, lua_call1(fd2, 1));
	close(fd2);
}

TEST(fd_fork_shares_the_state)
{
	int fd, status, i;
	pid_t pid;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(counter_script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(100, lua_call1(fd, 100));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < 5; i++)
			if (lua_call1(fd, 1) != 101 + i)
				_exit(1);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(105, lua_call1(fd, 0));
	close(fd);
}

TEST(call_rejects_flags_and_nargs)
{
	__u64 args[LUA_SYSCALL_MAX_ARGS + 1] = { 0 };
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register("return function(...) return select('#', ...) end");
	ASSERT_LE(0, fd);

	ASSERT_EQ(-1, sys_lua_syscall(fd, NULL, 0, 1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, sys_lua_syscall(fd, NULL, 0, ~0U));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, sys_lua_syscall(fd, args, LUA_SYSCALL_MAX_ARGS + 1, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, sys_lua_syscall(fd, args, ~0U, 0));
	ASSERT_EQ(EINVAL, errno);

	ASSERT_EQ(LUA_SYSCALL_MAX_ARGS,
		  sys_lua_syscall(fd, args, LUA_SYSCALL_MAX_ARGS, 0));
	ASSERT_EQ(0, sys_lua_syscall(fd, NULL, 0, 0));
	close(fd);
}

TEST(call_rejects_bad_args_pointer)
{
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(counter_script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, sys_lua_syscall(fd, NULL, 1, 0));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, sys_lua_syscall(fd, lua_unmapped_addr(), 2, 0));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, sys_lua_syscall(fd, LUA_KERNEL_ADDR, 1, 0));
	ASSERT_EQ(EFAULT, errno);
	/* the script did not run */
	ASSERT_EQ(1, lua_call1(fd, 1));
	close(fd);
}

TEST(call_rejects_bad_fds)
{
	int fd, pipefd[2], efd, nullfd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	ASSERT_EQ(-1, lua_call0(-1));
	ASSERT_EQ(EBADF, errno);
	fd = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(-1, lua_call0(fd));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(-1, lua_call0(INT_MAX));
	ASSERT_EQ(EBADF, errno);

	ASSERT_EQ(0, pipe(pipefd));
	ASSERT_EQ(-1, lua_call0(pipefd[0]));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, lua_call0(pipefd[1]));
	ASSERT_EQ(EINVAL, errno);
	efd = eventfd(0, 0);
	ASSERT_LE(0, efd);
	ASSERT_EQ(-1, lua_call0(efd));
	ASSERT_EQ(EINVAL, errno);
	nullfd = open("/dev/null", O_RDWR);
	ASSERT_LE(0, nullfd);
	ASSERT_EQ(-1, lua_call0(nullfd));
	ASSERT_EQ(EINVAL, errno);
	close(pipefd[0]);
	close(pipefd[1]);
	close(efd);
	close(nullfd);
}

TEST(call_runtime_error)
{
	static const char script[] =
		"local n = 0\n"
		"return function(fail)\n"
		"  n = n + 1\n"
		"  if fail == 1 then error('failed on call ' .. n) end\n"
		"  if fail == 2 then error({}) end\n"
		"  return n\n"
		"end\n";
	char msg[512];
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lua_last_error(fd, msg, sizeof(msg)));

	ASSERT_EQ(-1, lua_call1(fd, 1));
	ASSERT_EQ(ENOEXEC, errno);
	ASSERT_LT(0, lua_last_error(fd, msg, sizeof(msg)));
	ASSERT_NE(NULL, strstr(msg, "failed on call 1"));
	ASSERT_EQ(ENOEXEC, lua_fdinfo_ll(fd, "lua-last-errno"));

	ASSERT_EQ(-1, lua_call1(fd, 2));
	ASSERT_EQ(ENOEXEC, errno);
	/* the state lives on, with its upvalues */
	ASSERT_EQ(3, lua_call1(fd, 0));
	close(fd);
}

TEST(call_args_are_int64)
{
	static const char script[] =
		"return function(a, b)\n"
		"  if b == 1 then return a == -1 and 7 or 0 end\n"
		"  if b == 2 then return a == math.mininteger and 7 or 0 end\n"
		"  if b == 3 then return a + 1 end\n"
		"  return a\n"
		"end\n";
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(7, lua_call2(fd, ~0ULL, 1));
	ASSERT_EQ(7, lua_call2(fd, 1ULL << 63, 2));
	ASSERT_EQ(LLONG_MIN, lua_call2(fd, LLONG_MAX, 3));
	ASSERT_EQ(-123456, lua_call2(fd, (__u64)-123456LL, 0));
	close(fd);
}

TEST(call_return_values)
{
	static const char script[] =
		"return function(k)\n"
		"  if k == 0 then return end\n"
		"  if k == 1 then return nil end\n"
		"  if k == 2 then return 5, 6 end\n"
		"  if k == 3 then return -4096 end\n"
		"  if k == 4 then return -4095 end\n"
		"  if k == 5 then return -5 end\n"
		"  if k == 6 then return math.maxinteger end\n"
		"  if k == 7 then return true end\n"
		"  if k == 8 then return '5' end\n"
		"  if k == 9 then return {} end\n"
		"  return sys.read(-1, 0, 0)\n"
		"end\n";
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lua_call1(fd, 0));
	ASSERT_EQ(0, lua_call1(fd, 1));
	ASSERT_EQ(5, lua_call1(fd, 2));
	ASSERT_EQ(-4096, lua_call1(fd, 3));
	ASSERT_EQ(-1, lua_call1(fd, 4));
	ASSERT_EQ(4095, errno);
	ASSERT_EQ(-1, lua_call1(fd, 5));
	ASSERT_EQ(5, errno);
	ASSERT_EQ(LLONG_MAX, lua_call1(fd, 6));
	ASSERT_EQ(-1, lua_call1(fd, 7));
	ASSERT_EQ(ENOEXEC, errno);
	ASSERT_EQ(-1, lua_call1(fd, 8));
	ASSERT_EQ(ENOEXEC, errno);
	ASSERT_EQ(-1, lua_call1(fd, 9));
	ASSERT_EQ(ENOEXEC, errno);
	/* a nested syscall's error passes through */
	ASSERT_EQ(-1, lua_call1(fd, 10));
	ASSERT_EQ(EBADF, errno);
	close(fd);
}

TEST(persistence_across_calls)
{
	static const char script[] =
		"local up = 0\n"
		"loaded = (loaded or 0) + 1\n"
		"return function(v)\n"
		"  up = up + 1\n"
		"  if v ~= 0 then g = v end\n"
		"  return loaded * 1000000 + up * 1000 + (g or 0)\n"
		"end\n";
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1001000, lua_call1(fd, 0));
	ASSERT_EQ(1002042, lua_call1(fd, 42));
	ASSERT_EQ(1003042, lua_call1(fd, 0));
	close(fd);
}

TEST(read_and_fdinfo)
{
	static const char * const keys[] = {
		"lua-invocations", "lua-instructions", "lua-mem-used",
		"lua-mem-limit", "lua-insn-limit", "lua-last-errno",
		"lua-last-error",
	};
	static const char script[] =
		"local keep = {}\n"
		"return function(op, n)\n"
		"  if op == 1 then for i = 1, n do end end\n"
		"  if op == 2 then keep[#keep + 1] = string.rep('k', n) end\n"
		"  if op == 3 then error('fdinfo failure') end\n"
		"  if op == 4 then return -2 end\n"
		"  return 0\n"
		"end\n";
	long long insns, used;
	char val[512], msg[512];
	unsigned int i;
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		EXPECT_EQ(0, lua_fdinfo(fd, keys[i], val, sizeof(val))) {
			TH_LOG("fdinfo key %u missing", i);
		}
	ASSERT_EQ(0, lua_fdinfo_ll(fd, "lua-invocations"));
	ASSERT_EQ(0, lua_fdinfo_ll(fd, "lua-last-errno"));
	ASSERT_EQ(lua_read_sysctl("mem_limit"),
		  lua_fdinfo_ll(fd, "lua-mem-limit"));
	ASSERT_EQ(lua_read_sysctl("insn_limit"),
		  lua_fdinfo_ll(fd, "lua-insn-limit"));
	used = lua_fdinfo_ll(fd, "lua-mem-used");
	ASSERT_LT(0, used);
	ASSERT_GE(lua_fdinfo_ll(fd, "lua-mem-limit"), used);
	insns = lua_fdinfo_ll(fd, "lua-instructions");

	ASSERT_EQ(0, lua_call2(fd, 1, 200000));
	ASSERT_EQ(1, lua_fdinfo_ll(fd, "lua-invocations"));
	ASSERT_LE(insns + 190000, lua_fdinfo_ll(fd, "lua-instructions"));
	ASSERT_EQ(0, lua_call2(fd, 2, 100000));
	ASSERT_EQ(2, lua_fdinfo_ll(fd, "lua-invocations"));
	/* 100000 bytes kept; the collector may have freed a little else */
	ASSERT_LE(used + 90000, lua_fdinfo_ll(fd, "lua-mem-used"));

	/* read() and fdinfo show the last failure; read() advances */
	ASSERT_EQ(0, read(fd, msg, sizeof(msg)));
	ASSERT_EQ(-1, lua_call1(fd, 3));
	ASSERT_EQ(ENOEXEC, errno);
	ASSERT_EQ(ENOEXEC, lua_fdinfo_ll(fd, "lua-last-errno"));
	ASSERT_EQ(0, lua_fdinfo(fd, "lua-last-error", val, sizeof(val)));
	ASSERT_NE(NULL, strstr(val, "fdinfo failure"));
	ASSERT_LT(0, read(fd, msg, sizeof(msg) - 1));
	ASSERT_EQ(0, read(fd, msg, sizeof(msg) - 1));
	ASSERT_LT(0, lua_last_error(fd, msg, sizeof(msg)));
	ASSERT_NE(NULL, strstr(msg, "fdinfo failure"));
	/* the text and errno are the last call's: a success clears them */
	ASSERT_EQ(0, lua_call1(fd, 0));
	ASSERT_EQ(0, lua_fdinfo_ll(fd, "lua-last-errno"));
	ASSERT_EQ(0, lua_last_error(fd, msg, sizeof(msg)));
	/* an errno the script returns replaces an earlier failure's text */
	ASSERT_EQ(-1, lua_call1(fd, 3));
	ASSERT_EQ(-1, lua_call1(fd, 4));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(ENOENT, lua_fdinfo_ll(fd, "lua-last-errno"));
	ASSERT_LT(0, lua_last_error(fd, msg, sizeof(msg)));
	EXPECT_STREQ("the entry returned -2", msg);
	close(fd);
}

TEST(unknown_sys_name_fails_where_it_is_named)
{
	static const char script[] =
		"return function(k)\n"
		"  if k == 1 then return sys.nr.getppdi == nil and 7 or 0 end\n"
		"  return sys.getppdi()\n"
		"end\n";
	char msg[512];
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	/* sys.nr tells a missing call without an error */
	ASSERT_EQ(7, lua_call1(fd, 1));
	ASSERT_EQ(-1, lua_call1(fd, 0));
	ASSERT_EQ(ENOEXEC, errno);
	ASSERT_LT(0, lua_last_error(fd, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, ":3: sys.getppdi: no such system call")) {
		TH_LOG("last error: %s", msg);
	}
	close(fd);
}

/* Tests that change the sysctls restore them in the parent. */
FIXTURE(limits) {
	struct lua_sysctls sysctls;
};

FIXTURE_SETUP(limits)
{
	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	if (geteuid() != 0)
		SKIP(return, "the sysctls need root");
	lua_save_sysctls(&self->sysctls);
}

FIXTURE_TEARDOWN_PARENT(limits)
{
	if (lua_syscall_supported() && geteuid() == 0)
		lua_restore_sysctls(&self->sysctls);
}

TEST_F(limits, instruction_budget)
{
	static const char loop[] =
		"return function(n) for i = 1, n do end return 1 end";
	int fd;

	ASSERT_EQ(0, lua_write_sysctl("insn_limit", 1000));
	fd = lua_register(loop);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1000, lua_fdinfo_ll(fd, "lua-insn-limit"));
	ASSERT_EQ(-1, lua_call1(fd, 1000000));
	ASSERT_EQ(ETIME, errno);
	ASSERT_EQ(ETIME, lua_fdinfo_ll(fd, "lua-last-errno"));
	ASSERT_EQ(1, lua_call1(fd, 10));
	close(fd);

	/* the top level has the budget too */
	ASSERT_EQ(-1, lua_register("while true do end"));
	ASSERT_EQ(ETIME, errno);
}

TEST_F(limits, memory_budget)
{
	static const char bomb[] =
		"return function(n)\n"
		"  if n == 0 then return 1 end\n"
		"  local t, i = {}, 0\n"
		"  while true do i = i + 1 t[i] = {i, i, i} end\n"
		"end\n";
	int fd;

	ASSERT_EQ(0, lua_write_sysctl("mem_limit", 262144));
	fd = lua_register(bomb);
	ASSERT_LE(0, fd);
	ASSERT_EQ(262144, lua_fdinfo_ll(fd, "lua-mem-limit"));
	ASSERT_EQ(-1, lua_call1(fd, 1));
	ASSERT_EQ(ENOMEM, errno);
	ASSERT_GE(262144, lua_fdinfo_ll(fd, "lua-mem-used"));
	ASSERT_EQ(1, lua_call1(fd, 0));
	/* a huge allocation fails the same way */
	close(fd);
	fd = lua_register("return function() return #string.rep('x', 1 << 30) end");
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, lua_call0(fd));
	ASSERT_EQ(ENOMEM, errno);
	close(fd);
	/* past Lua's own string size cap (INT_MAX) it is a runtime error */
	fd = lua_register("return function() return #string.rep('x', 1 << 40) end");
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, lua_call0(fd));
	ASSERT_EQ(ENOEXEC, errno);
	close(fd);

	/* the limit is read at registration */
	ASSERT_EQ(0, lua_write_sysctl("mem_limit", 1048576));
	fd = lua_register("return function(n) return #string.rep('x', n) end");
	ASSERT_LE(0, fd);
	ASSERT_EQ(200000, lua_call1(fd, 200000));
	close(fd);

	ASSERT_EQ(-1, lua_register("local t = {} for i = 1, 1000000 do t[i] = {} end"));
	ASSERT_EQ(ENOMEM, errno);
}

TEST_F(limits, script_length)
{
	char buf[65];
	int fd;

	ASSERT_EQ(0, lua_write_sysctl("max_script_len", 64));
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, null_script, sizeof(null_script) - 1);
	ASSERT_EQ(-1, sys_register_lua_syscall(buf, 65, 0));
	ASSERT_EQ(E2BIG, errno);
	fd = sys_register_lua_syscall(buf, 64, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lua_call0(fd));
	close(fd);
}

TEST_F(limits, sysctl_ranges)
{
	static const struct {
		const char *name;
		long long bad;
	} cases[] = {
		{ "unprivileged_register", 3 },
		{ "unprivileged_register", -1 },
		{ "mem_limit", 65535 },
		{ "mem_limit", 268435457 },
		{ "insn_limit", 999 },
		{ "insn_limit", 1000000001LL },
		{ "max_script_len", 0 },
		{ "max_script_len", 1048577 },
	};
	unsigned int i;
	long long before;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		before = lua_read_sysctl(cases[i].name);
		ASSERT_LE(0, before);
		EXPECT_EQ(EINVAL, lua_write_sysctl(cases[i].name, cases[i].bad)) {
			TH_LOG("%s = %lld was accepted", cases[i].name,
			       cases[i].bad);
		}
		EXPECT_EQ(before, lua_read_sysctl(cases[i].name));
	}
	ASSERT_EQ(0, lua_write_sysctl("mem_limit", 65536));
	ASSERT_EQ(0, lua_write_sysctl("insn_limit", 1000000000LL));
	ASSERT_EQ(1000000000LL, lua_read_sysctl("insn_limit"));
}

#ifdef __x86_64__
/* A 32-bit caller: the int $0x80 entry runs the ia32 (compat) table. */
static long int80_syscall4(long nr, long a, long b, long c, long d)
{
	long ret;

	asm volatile ("int $0x80"
		      : "=a" (ret)
		      : "a" (nr), "b" (a), "c" (b), "d" (c), "S" (d)
		      : "r8", "r9", "r10", "r11", "memory");
	return ret;
}

TEST(compat_callers_get_eopnotsupp)
{
	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	/* i386 numbers are the same as x86-64's */
	ASSERT_EQ(-EOPNOTSUPP, int80_syscall4(463, 0, 1, 0, 0));
	ASSERT_EQ(-EOPNOTSUPP, int80_syscall4(464, 0, 0, 0, 0));
}
#endif

TEST_HARNESS_MAIN
