// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of register_lua_syscall()'s extensible argument: the size rules of
 * copy_struct_from_user(), the registration log (compile errors, runtime
 * errors of the top level, a chunk that returns no entry, warnings about
 * unknown sys names, truncation, faults), names and per-state budgets.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "lua_syscall_util.h"

#define LOG_SIZE	4096

static const char null_script[] = "return function() return 0 end";

/*
 * Register @script with a log at @level in the first @log_size bytes of
 * @log (LOG_SIZE bytes, all set to 'X' first); the fd or -1 and errno.
 */
static int register_logged(const char *script, unsigned int level, char *log,
			   size_t log_size, struct lua_syscall_reg *reg)
{
	*reg = (struct lua_syscall_reg){
		.script = (uintptr_t)script,
		.script_len = strlen(script),
		.log_buf = (uintptr_t)log,
		.log_size = log_size,
		.log_level = level,
	};
	memset(log, 'X', LOG_SIZE);
	return sys_register_lua_syscall_raw(reg, sizeof(*reg));
}

/* The lowest free fd: a failed registration must not leave one behind. */
static int next_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
}

TEST(sizes_follow_copy_struct_from_user)
{
	struct {
		struct lua_syscall_reg reg;
		__u64 tail;
	} big = { 0 };
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	big.reg.script = (uintptr_t)null_script;
	big.reg.script_len = strlen(null_script);

	ASSERT_EQ(-1, sys_register_lua_syscall_raw(&big, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, sys_register_lua_syscall_raw(&big, sizeof(big.reg) - 1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, sys_register_lua_syscall_raw(&big, 1 << 20));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_EQ(-1, sys_register_lua_syscall_raw(NULL, sizeof(big.reg)));
	ASSERT_EQ(EFAULT, errno);

	/* a newer struct's zero tail is accepted, a set field is not */
	fd = sys_register_lua_syscall_raw(&big, sizeof(big));
	ASSERT_LE(0, fd);
	close(fd);
	big.tail = 1;
	ASSERT_EQ(-1, sys_register_lua_syscall_raw(&big, sizeof(big)));
	ASSERT_EQ(E2BIG, errno);
}

TEST(log_arguments_are_checked)
{
	struct lua_syscall_reg reg;
	char log[LOG_SIZE];

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	ASSERT_EQ(-1, register_logged(null_script, 3, log, 64, &reg));
	ASSERT_EQ(EINVAL, errno);

	/* a buffer without a size, a size without a buffer, a level alone */
	reg.log_level = LUA_SYSCALL_LOG_ERRORS;
	reg.log_size = 0;
	ASSERT_EQ(-1, sys_register_lua_syscall_raw(&reg, sizeof(reg)));
	ASSERT_EQ(EINVAL, errno);
	reg.log_buf = 0;
	reg.log_size = 64;
	ASSERT_EQ(-1, sys_register_lua_syscall_raw(&reg, sizeof(reg)));
	ASSERT_EQ(EINVAL, errno);
	reg.log_size = 0;
	ASSERT_EQ(-1, sys_register_lua_syscall_raw(&reg, sizeof(reg)));
	ASSERT_EQ(EINVAL, errno);

	reg.log_level = 0;
	reg.reserved = 1;
	ASSERT_EQ(-1, sys_register_lua_syscall_raw(&reg, sizeof(reg)));
	ASSERT_EQ(EINVAL, errno);
}

TEST(log_explains_each_refusal)
{
	static const struct {
		const char *script;
		int err;
		const char *log;
	} cases[] = {
		{ "return function( end", EINVAL,
		  "script:1: error: <name> or '...' expected near 'end'\n" },
		{ "local x = 1\nreturn function() return 1.5 end", EINVAL,
		  "script:2: error: malformed number near '1.5'\n" },
		{ "return 42", EINVAL,
		  "script: error: the chunk returned number, not a function (the entry)\n" },
		{ "\n\nerror('boom')", ENOEXEC, "script:3: error: boom\n" },
		{ "error({})", ENOEXEC,
		  "script: error: (error object is a table value)\n" },
		{ "\x1bLua", EINVAL,
		  "script: error: attempt to load a binary chunk (mode is 't')\n" },
	};
	struct lua_syscall_reg reg;
	char log[LOG_SIZE];
	int i, fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		fd = next_fd();
		ASSERT_EQ(-1, register_logged(cases[i].script,
					      LUA_SYSCALL_LOG_ERRORS, log,
					      sizeof(log), &reg));
		EXPECT_EQ(cases[i].err, errno);
		EXPECT_STREQ(cases[i].log, log);
		EXPECT_EQ(strlen(log) + 1, reg.log_true_size);
		EXPECT_EQ(fd, next_fd());
	}
}

TEST(log_explains_bad_arguments)
{
	struct lua_syscall_reg reg;
	char log[LOG_SIZE];

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	register_logged(null_script, LUA_SYSCALL_LOG_ERRORS, log, sizeof(log),
			&reg);
	reg.flags = 0x6;
	ASSERT_EQ(-1, sys_register_lua_syscall_raw(&reg, sizeof(reg)));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_STREQ("error: flags: unknown bits 0x6\n", log);

	reg.flags = 0;
	reg.script_len = 0;
	ASSERT_EQ(-1, sys_register_lua_syscall_raw(&reg, sizeof(reg)));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_STREQ("error: script_len is 0\n", log);
}

TEST(success_logs_nothing_without_warnings)
{
	struct lua_syscall_reg reg;
	char log[LOG_SIZE];
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = register_logged(null_script, LUA_SYSCALL_LOG_WARNINGS, log,
			     sizeof(log), &reg);
	ASSERT_LE(0, fd);
	ASSERT_STREQ("", log);
	ASSERT_EQ(1, reg.log_true_size);
	close(fd);
}

TEST(warnings_name_unknown_sys_calls)
{
	static const char script[] =
		"local sys = sys\n"
		"local function f() return sys.getppdi() end\n"
		"return function(k)\n"
		"  if k == 1 then return sys.nr.no_such_call end\n"
		"  if k == 2 then return _ENV.sys.opne(0, 0) end\n"
		"  local s = sys\n"
		"  return s.getpid() + sys.call(39) + f()\n"
		"end\n";
	static const char expected[] =
		"script:2: warning: sys.getppdi: no such system call\n"
		"script:5: warning: sys.opne: no such system call\n";
	struct lua_syscall_reg reg;
	char log[LOG_SIZE];
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = register_logged(script, LUA_SYSCALL_LOG_WARNINGS, log,
			     sizeof(log), &reg);
	ASSERT_LE(0, fd);
	ASSERT_STREQ(expected, log);
	ASSERT_EQ(sizeof(expected), reg.log_true_size);
	close(fd);

	/* errors only: the same script logs nothing */
	fd = register_logged(script, LUA_SYSCALL_LOG_ERRORS, log, sizeof(log),
			     &reg);
	ASSERT_LE(0, fd);
	ASSERT_STREQ("", log);
	close(fd);
}

TEST(warnings_are_capped)
{
	char script[4096] = "return function()\n";
	struct lua_syscall_reg reg;
	char log[LOG_SIZE];
	int i, fd, lines = 0;
	char *p;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	for (i = 0; i < 40; i++)
		sprintf(script + strlen(script), "sys.nope%d()\n", i);
	strcat(script, "end\n");
	fd = register_logged(script, LUA_SYSCALL_LOG_WARNINGS, log,
			     sizeof(log), &reg);
	ASSERT_LE(0, fd);
	close(fd);
	for (p = log; (p = strchr(p, '\n')); p++)
		lines++;
	ASSERT_EQ(17, lines);
	ASSERT_NE(NULL, strstr(log, "script:2: warning: sys.nope0: no such system call\n"));
	ASSERT_NE(NULL, strstr(log, "script: warning: 24 more unknown names\n"));
}

TEST(log_is_cut_to_its_buffer)
{
	static const char script[] = "\n\nerror('a long message')";
	static const char full[] = "script:3: error: a long message\n";
	struct lua_syscall_reg reg;
	char log[LOG_SIZE];

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	ASSERT_EQ(-1, register_logged(script, LUA_SYSCALL_LOG_ERRORS, log, 10,
				      &reg));
	ASSERT_EQ(ENOEXEC, errno);
	ASSERT_STREQ("script:3:", log);
	ASSERT_EQ('X', log[10]);
	ASSERT_EQ(sizeof(full), reg.log_true_size);

	/* a buffer of one byte gets the NUL and nothing else */
	ASSERT_EQ(-1, register_logged(script, LUA_SYSCALL_LOG_ERRORS, log, 1,
				      &reg));
	ASSERT_EQ(ENOEXEC, errno);
	ASSERT_EQ('\0', log[0]);
	ASSERT_EQ('X', log[1]);
	ASSERT_EQ(sizeof(full), reg.log_true_size);
}

TEST(log_fault_fails_without_an_fd)
{
	struct lua_syscall_reg reg = {
		.script = (uintptr_t)null_script,
		.script_len = strlen(null_script),
		.log_size = 64,
		.log_level = LUA_SYSCALL_LOG_WARNINGS,
	};
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = next_fd();
	reg.log_buf = (uintptr_t)lua_unmapped_addr();
	ASSERT_EQ(-1, sys_register_lua_syscall_raw(&reg, sizeof(reg)));
	ASSERT_EQ(EFAULT, errno);
	reg.log_buf = (uintptr_t)LUA_KERNEL_ADDR;
	ASSERT_EQ(-1, sys_register_lua_syscall_raw(&reg, sizeof(reg)));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(fd, next_fd());
}

TEST(names)
{
	static const char script[] = "return function() error('x') end";
	struct lua_syscall_opts opts = { .sz = sizeof(opts) };
	char val[64], log[LOG_SIZE];
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	opts.name = "udp-batch_1.0";
	fd = lua_syscall_register(script, strlen(script), &opts);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lua_fdinfo(fd, "lua-name", val, sizeof(val)));
	ASSERT_STREQ("udp-batch_1.0", val);
	/* the chunk is named after the state in messages */
	ASSERT_EQ(-1, lua_call0(fd));
	ASSERT_LT(0, lua_last_error(fd, val, sizeof(val)));
	ASSERT_STREQ("udp-batch_1.0:1: x", val);
	close(fd);

	fd = lua_register(null_script);
	ASSERT_EQ(0, lua_fdinfo(fd, "lua-name", val, sizeof(val)));
	ASSERT_STREQ("", val);
	close(fd);

	opts.log_buf = log;
	opts.log_size = sizeof(log);
	opts.name = "with space";
	ASSERT_EQ(-1, lua_syscall_register(script, strlen(script), &opts));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_STREQ("error: name: at most 31 letters, digits, '_', '.' or '-'\n",
		     log);
	opts.name = "a123456789b123456789c123456789d12";
	ASSERT_EQ(-1, lua_syscall_register(script, strlen(script), &opts));
	ASSERT_EQ(EINVAL, errno);
	opts.name = "a123456789b123456789c123456789d";
	fd = lua_syscall_register(script, strlen(script), &opts);
	ASSERT_LE(0, fd);
	close(fd);
	opts.name = lua_unmapped_addr();
	ASSERT_EQ(-1, lua_syscall_register(script, strlen(script), &opts));
	ASSERT_EQ(EFAULT, errno);
}

/* An instance of our own: other users of the top buffer cannot disturb it. */
#define TRACEFS		"/sys/kernel/tracing/instances/lua_syscall_register_test/"
#define NESTED_EVENT	TRACEFS "events/lua_syscall/lua_syscall_nested/enable"

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

TEST(tracepoint_names_the_state)
{
	static const char script[] = "return function() return sys.getppid() end";
	struct lua_syscall_opts opts = { .sz = sizeof(opts) };
	char want[2][96], *trace;
	long long id[2];
	int fd[2], i;
	size_t len = 0;
	ssize_t n;
	int tfd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	if (mkdir(TRACEFS, 0700) && errno != EEXIST)
		SKIP(return, "no tracefs instances");
	if (access(NESTED_EVENT, W_OK)) {
		rmdir(TRACEFS);
		SKIP(return, "no lua_syscall_nested event");
	}
	ASSERT_EQ(0, write_file(NESTED_EVENT, "1"));
	for (i = 0; i < 2; i++) {
		opts.name = i ? "tp-second" : "tp-first";
		fd[i] = lua_syscall_register(script, strlen(script), &opts);
		ASSERT_LE(0, fd[i]);
		id[i] = lua_fdinfo_ll(fd[i], "lua-id");
		ASSERT_LT(0, id[i]);
		ASSERT_EQ(getppid(), lua_call0(fd[i]));
		snprintf(want[i], sizeof(want[i]), "state=%lld name=%s nr=", id[i],
			 opts.name);
	}
	ASSERT_NE(id[0], id[1]);
	ASSERT_EQ(0, write_file(NESTED_EVENT, "0"));

	trace = calloc(1, 1 << 20);
	ASSERT_NE(NULL, trace);
	tfd = open(TRACEFS "trace", O_RDONLY);
	ASSERT_LE(0, tfd);
	while ((n = read(tfd, trace + len, (1 << 20) - 1 - len)) > 0)
		len += n;
	close(tfd);
	for (i = 0; i < 2; i++) {
		EXPECT_NE(NULL, strstr(trace, want[i])) {
			TH_LOG("no \"%s\" in the trace", want[i]);
		}
		close(fd[i]);
	}
	free(trace);
	rmdir(TRACEFS);
}

TEST(constants_have_this_arch_values)
{
	static const char script[] =
		"local K = sys.const\n"
		"return function(out)\n"
		"  local v = { K.AT_FDCWD, K.O_CREAT, K.O_DIRECT, K.O_CLOEXEC,\n"
		"    K.MSG_DONTWAIT, K.SOCK_NONBLOCK, K.SO_REUSEPORT, K.EPOLLIN,\n"
		"    K.EPOLLET, sys.const.SIGUSR1, K.SIGCHLD, K.EAGAIN,\n"
		"    K.EWOULDBLOCK, K.EOPNOTSUPP, K.EHWPOISON, K.STATX_BASIC_STATS }\n"
		"  for i = 1, #v do mem.put64(out + 8 * (i - 1), v[i]) end\n"
		"  return #v\n"
		"end\n";
	const __s64 want[] = {
		AT_FDCWD, O_CREAT, O_DIRECT, O_CLOEXEC, MSG_DONTWAIT,
		SOCK_NONBLOCK, SO_REUSEPORT, EPOLLIN, EPOLLET, SIGUSR1,
		SIGCHLD, EAGAIN, EWOULDBLOCK, EOPNOTSUPP, EHWPOISON,
		STATX_BASIC_STATS,
	};
	__s64 got[ARRAY_SIZE(want)];
	char msg[256];
	int fd, i;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(ARRAY_SIZE(want), lua_call1(fd, (uintptr_t)got));
	for (i = 0; i < ARRAY_SIZE(want); i++)
		EXPECT_EQ(want[i], got[i]) {
			TH_LOG("constant %d", i + 1);
		}
	close(fd);

	fd = lua_register("return function() return sys.const.O_CRAET end");
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, lua_call0(fd));
	ASSERT_LT(0, lua_last_error(fd, msg, sizeof(msg)));
	ASSERT_STREQ("script:1: sys.const.O_CRAET: no such constant", msg);
	close(fd);
}

TEST(warnings_name_unknown_constants)
{
	static const char script[] =
		"local K = sys.const\n"
		"return function()\n"
		"  return K.O_CREAT | sys.const.O_CRAET |\n"
		"         K.MSG_DONTWAT\n"
		"end\n";
	static const char expected[] =
		"script:3: warning: sys.const.O_CRAET: no such constant\n"
		"script:4: warning: sys.const.MSG_DONTWAT: no such constant\n";
	struct lua_syscall_reg reg;
	char log[LOG_SIZE];
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = register_logged(script, LUA_SYSCALL_LOG_WARNINGS, log,
			     sizeof(log), &reg);
	ASSERT_LE(0, fd);
	ASSERT_STREQ(expected, log);
	close(fd);
}

TEST(per_state_budgets)
{
	static const char loop[] =
		"return function(n) for i = 1, n do end return 1 end";
	static const char hog[] =
		"local t = {}\n"
		"return function(n) for i = 1, n do t[i] = ('x'):rep(64) .. i end return 1 end";
	struct lua_syscall_opts opts = { .sz = sizeof(opts) };
	long long insn_max, mem_max;
	char log[LOG_SIZE];
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	insn_max = lua_read_sysctl("insn_limit");
	mem_max = lua_read_sysctl("mem_limit");
	ASSERT_LT(5000, insn_max);
	ASSERT_LT(128 * 1024, mem_max);

	opts.insn_limit = 5000;
	fd = lua_syscall_register(loop, strlen(loop), &opts);
	ASSERT_LE(0, fd);
	ASSERT_EQ(5000, lua_fdinfo_ll(fd, "lua-insn-limit"));
	ASSERT_EQ(-1, lua_call1(fd, 100000));
	ASSERT_EQ(ETIME, errno);
	ASSERT_EQ(1, lua_call1(fd, 100));
	close(fd);

	opts.insn_limit = 0;
	opts.mem_limit = 128 * 1024;
	fd = lua_syscall_register(hog, strlen(hog), &opts);
	ASSERT_LE(0, fd);
	ASSERT_EQ(128 * 1024, lua_fdinfo_ll(fd, "lua-mem-limit"));
	ASSERT_EQ(insn_max, lua_fdinfo_ll(fd, "lua-insn-limit"));
	ASSERT_EQ(-1, lua_call1(fd, 100000));
	ASSERT_EQ(ENOMEM, errno);
	close(fd);

	/* the sysctls are the most a state may ask for; 0 means them */
	opts.log_buf = log;
	opts.log_size = sizeof(log);
	opts.mem_limit = 0;
	opts.insn_limit = insn_max + 1;
	ASSERT_EQ(-1, lua_syscall_register(loop, strlen(loop), &opts));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_NE(NULL, strstr(log, "error: insn_limit "));
	ASSERT_NE(NULL, strstr(log, "(kernel.lua_syscall.insn_limit)\n"));
	opts.insn_limit = 999;
	ASSERT_EQ(-1, lua_syscall_register(loop, strlen(loop), &opts));
	ASSERT_EQ(EINVAL, errno);
	opts.insn_limit = 0;
	opts.mem_limit = mem_max + 1;
	ASSERT_EQ(-1, lua_syscall_register(loop, strlen(loop), &opts));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_NE(NULL, strstr(log, "(kernel.lua_syscall.mem_limit)\n"));
	opts.mem_limit = 4096;
	ASSERT_EQ(-1, lua_syscall_register(loop, strlen(loop), &opts));
	ASSERT_EQ(EINVAL, errno);
}

TEST(library_reads_files_and_info)
{
	static const char path[] = "/tmp/lua_syscall_register_test.lua";
	struct lua_syscall_opts opts = { .sz = sizeof(opts), .name = "file" };
	struct lua_syscall_info info;
	FILE *f;
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	fputs("return function(a, b) return sys.getppid() + a - b end\n", f);
	fclose(f);
	fd = lua_syscall_register_file(path, &opts);
	unlink(path);
	ASSERT_LE(0, fd);
	ASSERT_EQ(getppid() + 5, lua_call2(fd, 7, 2));
	ASSERT_EQ(0, lua_syscall_get_info(fd, &info));
	ASSERT_STREQ("file", info.name);
	ASSERT_EQ(1, info.invocations);
	ASSERT_EQ(1, info.nested_syscalls);
	ASSERT_EQ(0, info.last_errno);
	close(fd);

	ASSERT_EQ(-1, lua_syscall_register_file("/nonexistent.lua", &opts));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, lua_syscall_get_info(0, &info));
	ASSERT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
