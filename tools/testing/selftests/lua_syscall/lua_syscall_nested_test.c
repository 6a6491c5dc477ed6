// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of what a lua_syscall script does: nested syscalls through the sys
 * library (pipes, UDP sockets, the deny list) and the caller's memory
 * through the mem library.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "lua_syscall_util.h"

TEST(sys_by_name_and_number)
{
	static const char script[] =
		"return function(k)\n"
		"  if k == 1 then return sys.getpid() end\n"
		"  if k == 2 then return sys.call(sys.nr.getppid) end\n"
		"  if k == 3 then return sys.nr.getpid end\n"
		"  return sys.call(-1) * 1000 + sys.read(-1, 0, 0)\n"
		"end\n";
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(getpid(), lua_call1(fd, 1));
	ASSERT_EQ(getppid(), lua_call1(fd, 2));
	ASSERT_EQ(__NR_getpid, lua_call1(fd, 3));
	/* raw -errno results, no Lua error: unknown nr, bad fd */
	ASSERT_EQ(-38 * 1000 - EBADF, lua_call1(fd, 4));
	close(fd);
}

TEST(sys_errors_pass_through)
{
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register("return function(nr) return sys.call(nr) end");
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, lua_call1(fd, -1));
	ASSERT_EQ(38, errno);
	ASSERT_EQ(-1, lua_call1(fd, 1ULL << 40));
	ASSERT_EQ(38, errno);
	ASSERT_EQ(getpid(), lua_call1(fd, __NR_getpid));
	close(fd);

	fd = lua_register("return function() return sys.read(-1, 0, 0) end");
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, lua_call0(fd));
	ASSERT_EQ(EBADF, errno);
	close(fd);
}

TEST(nested_calls_counted_in_fdinfo)
{
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register("sys.getpid()\n"
			  "return function(n)\n"
			  "  for i = 1, n do sys.getppid() end\n"
			  "end\n");
	ASSERT_LE(0, fd);
	/* the top level's call counts too */
	ASSERT_EQ(1, lua_fdinfo_ll(fd, "lua-nested-syscalls"));
	ASSERT_EQ(0, lua_call1(fd, 3));
	ASSERT_EQ(4, lua_fdinfo_ll(fd, "lua-nested-syscalls"));
	ASSERT_EQ(0, lua_call1(fd, 16));
	ASSERT_EQ(20, lua_fdinfo_ll(fd, "lua-nested-syscalls"));
	ASSERT_EQ(2, lua_fdinfo_ll(fd, "lua-invocations"));
	close(fd);
}

TEST(nested_pipe)
{
	static const char script[] =
		"return function(w, r, buf, n)\n"
		"  for i = 1, n do\n"
		"    local msg = string.format('m%03d;', i)\n"
		"    mem.write(buf, msg)\n"
		"    if sys.write(w, buf, #msg) ~= #msg then return -3000 end\n"
		"  end\n"
		"  return sys.read(r, buf + 256, 4096)\n"
		"end\n";
	char buf[256 + 4096], want[8];
	__u64 args[4];
	int fd, p[2], i;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(p));
	args[0] = p[1];
	args[1] = p[0];
	args[2] = (uintptr_t)buf;
	args[3] = 20;
	ASSERT_EQ(100, sys_lua_syscall(fd, args, 4, 0));
	for (i = 0; i < 20; i++) {
		snprintf(want, sizeof(want), "m%03d;", i + 1);
		ASSERT_EQ(0, memcmp(buf + 256 + 5 * i, want, 5));
	}

	/* data written by the caller is read by the script */
	ASSERT_EQ(6, write(p[1], "abcdef", 6));
	args[3] = 0;
	ASSERT_EQ(6, sys_lua_syscall(fd, args, 4, 0));
	ASSERT_EQ(0, memcmp(buf + 256, "abcdef", 6));
	close(p[0]);
	close(p[1]);
	close(fd);
}

TEST(nested_udp)
{
	static const char send_script[] =
		"return function(s, buf, n, sa)\n"
		"  for i = 0, n - 1 do\n"
		"    local msg = 'dgram ' .. i\n"
		"    mem.write(buf, msg)\n"
		"    local r = sys.sendto(s, buf, #msg, 0, sa, 16)\n"
		"    if r ~= #msg then return -5000 + r end\n"
		"  end\n"
		"  return n\n"
		"end\n";
	static const char recv_script[] =
		"return function(s, buf, size, max)\n"
		"  local got = 0\n"
		"  while got < max do\n"
		"    local r = sys.recvfrom(s, buf + got * size, size, 0x40, 0, 0)\n"
		"    if r == -11 then break end\n"
		"    if r < 0 then return r end\n"
		"    got = got + 1\n"
		"  end\n"
		"  return got\n"
		"end\n";
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t alen = sizeof(addr);
	char sbuf[64], rbuf[16 * 64], want[16];
	int sfd, rfd, tx, rx, i;
	__u64 args[4];

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	rx = socket(AF_INET, SOCK_DGRAM, 0);
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_LE(0, rx);
	ASSERT_LE(0, tx);
	ASSERT_EQ(0, bind(rx, (struct sockaddr *)&addr, sizeof(addr)));
	ASSERT_EQ(0, getsockname(rx, (struct sockaddr *)&addr, &alen));
	sfd = lua_register(send_script);
	rfd = lua_register(recv_script);
	ASSERT_LE(0, sfd);
	ASSERT_LE(0, rfd);

	args[0] = tx;
	args[1] = (uintptr_t)sbuf;
	args[2] = 10;
	args[3] = (uintptr_t)&addr;
	ASSERT_EQ(10, sys_lua_syscall(sfd, args, 4, 0));

	memset(rbuf, 0, sizeof(rbuf));
	args[0] = rx;
	args[1] = (uintptr_t)rbuf;
	args[2] = 64;
	args[3] = 16;
	ASSERT_EQ(10, sys_lua_syscall(rfd, args, 4, 0));
	for (i = 0; i < 10; i++) {
		snprintf(want, sizeof(want), "dgram %d", i);
		ASSERT_STREQ(want, rbuf + 64 * i);
	}
	/* empty: the batch stops on EAGAIN at once */
	ASSERT_EQ(0, sys_lua_syscall(rfd, args, 4, 0));
	/* the caller's own datagram goes through the script */
	ASSERT_EQ(4, sendto(tx, "ping", 4, 0, (struct sockaddr *)&addr,
			    sizeof(addr)));
	ASSERT_EQ(1, sys_lua_syscall(rfd, args, 4, 0));
	ASSERT_EQ(0, memcmp(rbuf, "ping", 4));
	close(sfd);
	close(rfd);
	close(rx);
	close(tx);
}

TEST(mem_get_put)
{
	static const char script[] =
		"return function(op, a, v)\n"
		"  if op == 8 then return mem.get8(a) end\n"
		"  if op == 16 then return mem.get16(a) end\n"
		"  if op == 32 then return mem.get32(a) end\n"
		"  if op == 64 then return mem.get64(a) end\n"
		"  if op == 108 then mem.put8(a, v) end\n"
		"  if op == 116 then mem.put16(a, v) end\n"
		"  if op == 132 then mem.put32(a, v) end\n"
		"  if op == 164 then mem.put64(a, v) end\n"
		"  return 0\n"
		"end\n";
	union {
		__u8 b[32];
		__u16 h;
		__u32 w;
		__u64 q;
	} m;
	__u64 args[3];
	int fd, i;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	for (i = 0; i < 16; i++)
		m.b[i] = i + 1;
	memset(m.b + 16, 0xff, 16);
	fd = lua_register(script);
	ASSERT_LE(0, fd);

	args[1] = (uintptr_t)m.b;
	args[0] = 8;
	ASSERT_EQ(1, sys_lua_syscall(fd, args, 2, 0));
	args[0] = 16;
	ASSERT_EQ(m.h, sys_lua_syscall(fd, args, 2, 0));
	args[0] = 32;
	ASSERT_EQ(m.w, sys_lua_syscall(fd, args, 2, 0));
	args[0] = 64;
	ASSERT_EQ((long)m.q, sys_lua_syscall(fd, args, 2, 0));
	/* unsigned below 64 bits */
	args[1] = (uintptr_t)(m.b + 16);
	args[0] = 8;
	ASSERT_EQ(0xff, sys_lua_syscall(fd, args, 2, 0));
	args[0] = 32;
	ASSERT_EQ(0xffffffffL, sys_lua_syscall(fd, args, 2, 0));

	args[1] = (uintptr_t)m.b;
	args[0] = 108;
	args[2] = 0xab;
	ASSERT_EQ(0, sys_lua_syscall(fd, args, 3, 0));
	ASSERT_EQ(0xab, m.b[0]);
	ASSERT_EQ(2, m.b[1]);
	args[0] = 132;
	args[2] = 0x12345678;
	ASSERT_EQ(0, sys_lua_syscall(fd, args, 3, 0));
	ASSERT_EQ(0x12345678, m.w);
	args[0] = 164;
	args[2] = 0x1122334455667788ULL;
	ASSERT_EQ(0, sys_lua_syscall(fd, args, 3, 0));
	ASSERT_EQ(0x1122334455667788ULL, m.q);
	args[0] = 116;
	args[2] = 0xbeef;
	ASSERT_EQ(0, sys_lua_syscall(fd, args, 3, 0));
	ASSERT_EQ(0xbeef, m.h);
	close(fd);
}

TEST(mem_read_write)
{
	static const char script[] =
		"return function(a)\n"
		"  local x, y = string.unpack('<I2>I4', mem.read(a, 6))\n"
		"  mem.write(a + 8, 'written by lua')\n"
		"  return x * 10 + y\n"
		"end\n";
	char buf[32] = { 0x34, 0x12, 0, 0, 0, 7 };
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0x1234 * 10 + 7, lua_call1(fd, (uintptr_t)buf));
	ASSERT_EQ(0, memcmp(buf + 8, "written by lua", 14));
	close(fd);
}

TEST(mem_fault)
{
	static const char script[] =
		"return function(op, a)\n"
		"  if op == 1 then return mem.get64(a) end\n"
		"  if op == 2 then mem.put32(a, 1) return 0 end\n"
		"  if op == 3 then return #mem.read(a, 16) end\n"
		"  mem.write(a, 'x')\n"
		"  return 0\n"
		"end\n";
	long page = sysconf(_SC_PAGESIZE);
	__u64 word = 42;
	char *ro;
	int fd, op;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	for (op = 1; op <= 4; op++) {
		ASSERT_EQ(-1, lua_call2(fd, op, 0));
		ASSERT_EQ(EFAULT, errno);
		ASSERT_EQ(-1, lua_call2(fd, op, (uintptr_t)LUA_KERNEL_ADDR));
		ASSERT_EQ(EFAULT, errno);
		ASSERT_EQ(-1, lua_call2(fd, op, (uintptr_t)lua_unmapped_addr()));
		ASSERT_EQ(EFAULT, errno);
	}
	ASSERT_EQ(EFAULT, lua_fdinfo_ll(fd, "lua-last-errno"));
	ASSERT_EQ(-1, lua_call2(fd, 2, (uintptr_t)ro));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, lua_call2(fd, 4, (uintptr_t)ro));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(16, lua_call2(fd, 3, (uintptr_t)ro));
	ASSERT_EQ(42, lua_call2(fd, 1, (uintptr_t)&word));
	munmap(ro, page);
	close(fd);
}

/* A fault stops the script at once: a pcall() cannot catch it. */
TEST(mem_fault_stops_at_once)
{
	static const char script[] =
		"local after = 0\n"
		"return function(op)\n"
		"  if op == 2 then return after end\n"
		"  pcall(mem.get8, 0)\n"
		"  after = after + 1\n"
		"  return 1\n"
		"end\n";
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, lua_call1(fd, 1));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, lua_call1(fd, 2)) {
		TH_LOG("the script ran on after a fault in mem.get8");
	}
	close(fd);
}

/* The deny list, by arch; each is tried in a child of its own. */
static const struct {
	const char *name;
	long nr;
} denied[] = {
#ifdef __x86_64__
	{ "rt_sigreturn", 15 }, { "clone", 56 }, { "fork", 57 },
	{ "vfork", 58 }, { "execve", 59 }, { "exit", 60 },
	{ "modify_ldt", 154 }, { "arch_prctl", 158 }, { "iopl", 172 },
	{ "ioperm", 173 }, { "restart_syscall", 219 }, { "exit_group", 231 },
	{ "execveat", 322 }, { "uretprobe", 335 }, { "clone3", 435 },
	{ "map_shadow_stack", 453 },
#elif defined(__aarch64__)
	{ "exit", 93 }, { "exit_group", 94 }, { "restart_syscall", 128 },
	{ "rt_sigreturn", 139 }, { "clone", 220 }, { "execve", 221 },
	{ "execveat", 281 }, { "clone3", 435 }, { "map_shadow_stack", 453 },
#endif
	{ "register_lua_syscall", __NR_register_lua_syscall },
	{ "lua_syscall", __NR_lua_syscall },
};

/*
 * DENIED_OK when sys.call(nr) and sys.<name>() (if bound) both return
 * -EPERM and no child process appeared, else a code saying what went wrong.
 * Not 0: that is what exit(0) would leave.
 */
#define DENIED_OK	42

static int try_denied(const char *name, long nr)
{
	static const char fmt[] =
		"return function()\n"
		"  local r = sys.call(%ld, 0, 0, 0, 0, 0, 0)\n"
		"  if r ~= -1 then return 100 end\n"
		"  local f = sys['%s']\n"
		"  if f and f(0, 0, 0, 0, 0, 0) ~= -1 then return 101 end\n"
		"  return 77\n"
		"end\n";
	char script[512];
	int fd;

	snprintf(script, sizeof(script), fmt, nr, name);
	fd = lua_register(script);
	if (fd < 0)
		return 102;
	if (lua_call0(fd) != 77)
		return 103;
	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
		return 104;
	return DENIED_OK;
}

TEST(deny_list)
{
	unsigned int i;
	int status;
	pid_t pid;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	for (i = 0; i < ARRAY_SIZE(denied); i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(try_denied(denied[i].name, denied[i].nr));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == DENIED_OK) {
			TH_LOG("%s (%ld): status %#x", denied[i].name,
			       denied[i].nr, status);
		}
	}
}

TEST_HARNESS_MAIN
