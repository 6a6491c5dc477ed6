// SPDX-License-Identifier: GPL-2.0-only
/*
 * A script's nested system call is the task's own: signal masks, signals,
 * task work, rseq, tracepoints, ptrace, audit and the kernel stack treat it as a
 * call from user space, or it fails with the documented errno.  (Seccomp is in
 * lua_syscall_security_test.c.)  The harness runs each test in a process
 * of its own, so the signal state changed here does not leak.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/rseq.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "lua_syscall_util.h"

static int usr1_seen;

static void count_usr1(int sig)
{
	__atomic_fetch_add(&usr1_seen, 1, __ATOMIC_RELAXED);
}

static int usr1_count(void)
{
	return __atomic_load_n(&usr1_seen, __ATOMIC_RELAXED);
}

static void catch_usr1(void)
{
	struct sigaction sa = { .sa_handler = count_usr1 };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

static bool usr1_blocked(void)
{
	sigset_t set;

	sigprocmask(SIG_BLOCK, NULL, &set);
	return sigismember(&set, SIGUSR1);
}

/*
 * ppoll() with a temporary mask that unblocks a pending signal: from user
 * space the handler runs once and the mask comes back.  Two such nested
 * calls must not leave the temporary mask as the thread's mask.
 */
TEST(sigmask_of_nested_ppoll)
{
	static const char script[] =
		"return function(ts, mask)\n"
		"  sys.ppoll(0, 0, ts, mask, 8)\n"
		"  return sys.ppoll(0, 0, ts, mask, 8)\n"
		"end\n";
	struct timespec zero = { 0 };
	sigset_t usr1, empty;
	long ret;
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	catch_usr1();
	sigemptyset(&empty);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &usr1, NULL));

	/* what user space gets */
	raise(SIGUSR1);
	ASSERT_EQ(-1, syscall(__NR_ppoll, NULL, 0, &zero, &empty, 8));
	ASSERT_EQ(EINTR, errno);
	ASSERT_EQ(0, syscall(__NR_ppoll, NULL, 0, &zero, &empty, 8));
	ASSERT_EQ(1, usr1_count());
	ASSERT_TRUE(usr1_blocked());

	/* the same from a script */
	__atomic_store_n(&usr1_seen, 0, __ATOMIC_RELAXED);
	raise(SIGUSR1);
	ret = lua_call2(fd, (uintptr_t)&zero, (uintptr_t)&empty);
	/* the second ppoll waits for the signal's delivery: EINTR */
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EINTR, errno);
	ASSERT_EQ(1, usr1_count());
	ASSERT_TRUE(usr1_blocked()) {
		TH_LOG("a nested ppoll() left SIGUSR1 unblocked for good");
	}
	/* and with no signal pending, the mask is restored at once */
	ASSERT_EQ(0, lua_call2(fd, (uintptr_t)&zero, (uintptr_t)&empty));
	ASSERT_TRUE(usr1_blocked());
	ASSERT_EQ(1, usr1_count());
	close(fd);
}

/*
 * A pending signal does not stop a script: the nested call it interrupts
 * returns -EINTR to the script, the work done so far is kept, and the
 * handler runs when lua_syscall() returns.
 */
TEST(signal_keeps_finished_work)
{
	static const char script[] =
		"return function(rfd, buf, pid, tid, empty)\n"
		"  local n = sys.read(rfd, buf, 8)\n"
		"  sys.tgkill(pid, tid, 10)\n"
		"  local t = 0\n"
		"  for i = 1, 20000 do t = t + i end\n"
		"  local r = sys.read(empty, buf, 1)\n"
		"  return n * 1000 - r\n"
		"end\n";
	__u64 args[5];
	char buf[8];
	int p[2], q[2], fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	catch_usr1();
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, pipe(q));
	ASSERT_EQ(8, write(p[1], "datagram", 8));
	args[0] = p[0];
	args[1] = (uintptr_t)buf;
	args[2] = getpid();
	args[3] = gettid();
	args[4] = q[0];
	/* 8 bytes read, then the blocking read of an empty pipe: -EINTR */
	ASSERT_EQ(8 * 1000 + EINTR, sys_lua_syscall(fd, args, 5, 0)) {
		TH_LOG("errno %d: %s", errno, strerror(errno));
	}
	ASSERT_EQ(0, memcmp(buf, "datagram", 8));
	ASSERT_EQ(1, usr1_count());
	close(fd);
}

/*
 * A file whose last reference goes in a nested call is released before the
 * next one, as on a return to user space.  close() itself releases at once
 * (__fput_sync()), but dup2() over an fd, close_range() and the like leave
 * the last fput() to task work: the pipe's reader must see EOF, the port
 * must be free again.  (The generic table, arm64's, has dup3() only.)
 */
TEST(dup2_releases_at_once)
{
	static const char script[] =
		"return function(rfd, wfd, buf)\n"
		"  if sys.nr.dup2 then sys.dup2(rfd, wfd) else sys.dup3(rfd, wfd, 0) end\n"
		"  return sys.read(rfd, buf, 1)\n"
		"end\n";
	__u64 args[3];
	char c;
	int p[2], fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	args[0] = p[0];
	args[1] = p[1];
	args[2] = (uintptr_t)&c;
	/* EOF, not -EAGAIN: the writer is gone */
	ASSERT_EQ(0, sys_lua_syscall(fd, args, 3, 0)) {
		TH_LOG("errno %d: the write end was not released", errno);
	}
	close(p[1]);
	close(p[0]);
	close(fd);
}

TEST(close_range_then_bind_same_port)
{
	static const char script[] =
		"return function(addr)\n"
		"  local s = sys.socket(2, 2, 0)\n"
		"  local r = sys.bind(s, addr, 16)\n"
		"  if r ~= 0 then return r end\n"
		"  sys.close_range(s, s, 0)\n"
		"  s = sys.socket(2, 2, 0)\n"
		"  r = sys.bind(s, addr, 16)\n"
		"  sys.close(s)\n"
		"  return r\n"
		"end\n";
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sin);
	int s, fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	/* a free port */
	s = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, bind(s, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(s, (struct sockaddr *)&sin, &len));
	close(s);
	ASSERT_EQ(0, lua_call1(fd, (uintptr_t)&sin)) {
		TH_LOG("errno %d: the first socket still held the port",
		       errno);
	}
	close(fd);
}

/* A tracepoint's id, from tracefs (mounted here if it is not yet). */
static long tracepoint_id(const char *event)
{
	static const char * const roots[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char path[256];
	long id = -1;
	unsigned int i;
	FILE *f;

	mount("tracefs", roots[0], "tracefs", 0, NULL);
	for (i = 0; i < 2 && id < 0; i++) {
		snprintf(path, sizeof(path), "%s/events/%s/id", roots[i], event);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%ld", &id) != 1)
			id = -1;
		fclose(f);
	}
	return id;
}

static int count_tracepoint(long id)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = id,
		.sample_period = 1,
	};

	return syscall(__NR_perf_event_open, &attr, 0, -1, -1, 0);
}

/* perf, bpftrace and tracepoint-based monitors count nested calls too. */
/* glibc's rseq area of this thread: registered at start, when supported. */
static struct rseq *own_rseq(void)
{
	if (!__rseq_size)
		return NULL;
	return (struct rseq *)((char *)__builtin_thread_pointer() +
			       __rseq_offset);
}

#define RSEQ_STALE_CPU	0x7ffffff0u

/* args: &rseq.cpu_id, ts: cpu_id made stale, a sleep, cpu_id read back. */
static const char rseq_script[] =
	"return function(cpu_id, ts)\n"
	"  mem.put32(cpu_id, 0x7ffffff0)\n"
	"  sys.nanosleep(ts, 0)\n"
	"  return mem.get32(cpu_id)\n"
	"end";

/*
 * The kernel rewrites a task's rseq area on its way back to user space
 * after the task was scheduled out: after a nested sleep, before the next
 * nested call, as after a direct one, not only when lua_syscall() returns.
 */
TEST(rseq_area_updated_after_each_nested_call)
{
	struct timespec ts = { .tv_nsec = 2000000 };
	struct rseq *rs = own_rseq();
	long ret;
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	if (!rs)
		SKIP(return, "no rseq area (CONFIG_RSEQ, glibc.pthread.rseq)");

	/* direct: the reference */
	__atomic_store_n(&rs->cpu_id, RSEQ_STALE_CPU, __ATOMIC_RELAXED);
	ASSERT_EQ(0, nanosleep(&ts, NULL));
	ASSERT_EQ(sched_getcpu(),
		  (int)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED));

	fd = lua_register(rseq_script);
	ASSERT_LE(0, fd);
	ret = lua_call2(fd, (uintptr_t)&rs->cpu_id, (uintptr_t)&ts);
	EXPECT_EQ(sched_getcpu(), ret) {
		TH_LOG("rseq cpu_id after a nested sleep: %#lx", ret);
	}
	close(fd);
}

TEST(tracepoints_see_nested_calls)
{
	static const char script[] =
		"return function(n) for i = 1, n do sys.getppid() end end";
	long enter_id, exit_id;
	__u64 enters, exits;
	int fd, pe, px;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	enter_id = tracepoint_id("syscalls/sys_enter_getppid");
	exit_id = tracepoint_id("syscalls/sys_exit_getppid");
	if (enter_id < 0 || exit_id < 0)
		SKIP(return, "no syscall tracepoints (CONFIG_FTRACE_SYSCALLS)");
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	pe = count_tracepoint(enter_id);
	px = count_tracepoint(exit_id);
	ASSERT_LE(0, pe);
	ASSERT_LE(0, px);
	getppid();
	ASSERT_EQ(0, lua_call1(fd, 5));
	ASSERT_EQ(sizeof(enters), read(pe, &enters, sizeof(enters)));
	ASSERT_EQ(sizeof(exits), read(px, &exits, sizeof(exits)));
	ASSERT_EQ(6, enters);
	ASSERT_EQ(6, exits);
	close(pe);
	close(px);
	close(fd);
}

/* The result register of a stopped tracee's user frame. */
static int set_result(pid_t pid, unsigned long value)
{
	struct user_regs_struct regs;
	struct iovec iov = { .iov_base = &regs, .iov_len = sizeof(regs) };

	if (ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov))
		return -1;
#if defined(__x86_64__)
	regs.rax = value;
#elif defined(__aarch64__)
	regs.regs[0] = value;
#else
	return -1;
#endif
	return ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &iov);
}

struct stop {
	int op;			/* PTRACE_SYSCALL_INFO_ENTRY or _EXIT */
	long nr;		/* of the last entry, for an exit */
	unsigned long long arg0, arg1;
	long long rval;
};

/*
 * A PTRACE_SYSCALL tracer stops at each nested call's entry and exit, sees
 * the nested call's number, arguments and result there
 * (PTRACE_GET_SYSCALL_INFO), and may change the result, as for a direct
 * call; the outer call's registers come back intact (the child goes on to
 * return from lua_syscall() and exit normally).
 */
TEST(ptrace_syscall_stops_at_nested_calls)
{
	static const char script[] =
		"return function(fd)\n"
		"  local p = sys.getppid()\n"
		"  sys.lseek(fd, 5, 0)\n"
		"  return p\n"
		"end\n";
	struct stop stops[64];
	int fd, status, n = 0, i, devnull, depth = 0;
	long nr, entered[8];
	pid_t pid;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	devnull = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, devnull);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		long ret;

		if (ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(2);
		raise(SIGSTOP);
		ret = lua_call1(fd, devnull);
		_exit(ret == 4242 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(0, ptrace(PTRACE_SETOPTIONS, pid, 0,
			    PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
	for (;;) {
		struct __ptrace_syscall_info info;

		ASSERT_EQ(0, ptrace(PTRACE_SYSCALL, pid, 0, 0));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (!WIFSTOPPED(status))
			break;
		if (WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;
		ASSERT_LT(0, ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info),
				    &info));
		/* a nested call's stops come between the outer call's */
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
			ASSERT_GT(8, depth);
			nr = info.entry.nr;
			entered[depth++] = nr;
		} else {
			ASSERT_LT(0, depth);
			nr = entered[--depth];
		}
		if (nr != __NR_lua_syscall && nr != __NR_getppid &&
		    nr != __NR_lseek)
			continue;
		ASSERT_GT(64, n);
		stops[n].op = info.op;
		stops[n].nr = nr;
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
			stops[n].arg0 = info.entry.args[0];
			stops[n].arg1 = info.entry.args[1];
		} else {
			stops[n].rval = info.exit.rval;
			/* the tracer changes the nested call's result */
			if (nr == __NR_getppid)
				ASSERT_EQ(0, set_result(pid, 4242));
		}
		n++;
	}
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("lua_syscall() did not return the tracer's result");
	}

	/* lua_syscall, getppid, its exit, lseek, its exit, lua_syscall's exit */
	ASSERT_EQ(6, n) {
		for (i = 0; i < n; i++)
			TH_LOG("stop %d: op %d nr %ld", i, stops[i].op,
			       stops[i].nr);
	}
	EXPECT_EQ(PTRACE_SYSCALL_INFO_ENTRY, stops[0].op);
	EXPECT_EQ(__NR_lua_syscall, stops[0].nr);
	EXPECT_EQ(PTRACE_SYSCALL_INFO_ENTRY, stops[1].op);
	EXPECT_EQ(__NR_getppid, stops[1].nr);
	EXPECT_EQ(PTRACE_SYSCALL_INFO_EXIT, stops[2].op);
	EXPECT_EQ(getpid(), stops[2].rval);
	EXPECT_EQ(PTRACE_SYSCALL_INFO_ENTRY, stops[3].op);
	EXPECT_EQ(__NR_lseek, stops[3].nr);
	EXPECT_EQ(devnull, stops[3].arg0);
	EXPECT_EQ(5, stops[3].arg1);
	EXPECT_EQ(PTRACE_SYSCALL_INFO_EXIT, stops[4].op);
	EXPECT_EQ(PTRACE_SYSCALL_INFO_EXIT, stops[5].op);
	EXPECT_EQ(__NR_lua_syscall, stops[5].nr);
	EXPECT_EQ(4242, stops[5].rval);
	close(devnull);
	close(fd);
}

/* One audit netlink request; its acknowledgement's error (0 or -errno). */
static int audit_request(int type, const void *data, size_t len)
{
	struct {
		struct nlmsghdr nlh;
		char payload[2048];
	} req = { 0 };
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char reply[4096];
	struct nlmsghdr *nlh = (struct nlmsghdr *)reply;
	int s, ret;

	s = socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
	if (s < 0)
		return -errno;
	req.nlh.nlmsg_len = NLMSG_LENGTH(len);
	req.nlh.nlmsg_type = type;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nlh.nlmsg_seq = 1;
	memcpy(NLMSG_DATA(&req.nlh), data, len);
	ret = -EPROTO;
	if (sendto(s, &req, req.nlh.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		ret = -errno;
	else if (recv(s, reply, sizeof(reply), 0) < 0)
		ret = -errno;
	else if (nlh->nlmsg_type == NLMSG_ERROR)
		ret = ((struct nlmsgerr *)NLMSG_DATA(nlh))->error;
	close(s);
	return ret;
}

static int audit_enable(__u32 on)
{
	struct audit_status st = {
		.mask = AUDIT_STATUS_ENABLED,
		.enabled = on,
	};

	return audit_request(AUDIT_SET, &st, sizeof(st));
}

/* An "always,exit" rule for getppid alone: few records, any rule counts. */
static int audit_getppid_rule(int type)
{
	struct audit_rule_data rule = {
		.flags = AUDIT_FILTER_EXIT,
		.action = AUDIT_ALWAYS,
	};

	rule.mask[__NR_getppid / 32] = 1U << (__NR_getppid % 32);
	return audit_request(type, &rule, sizeof(rule));
}

/* Make this process the audit daemon on @s: the records come to it. */
static int audit_listen(int s, __u32 pid)
{
	struct {
		struct nlmsghdr nlh;
		struct audit_status st;
	} req = {
		.nlh = {
			.nlmsg_len = NLMSG_LENGTH(sizeof(struct audit_status)),
			.nlmsg_type = AUDIT_SET,
			.nlmsg_flags = NLM_F_REQUEST,
		},
		.st = {
			.mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_PID,
			.enabled = 1,
			.pid = pid,
		},
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	return sendto(s, &req, req.nlh.nlmsg_len, 0,
		      (struct sockaddr *)&kernel, sizeof(kernel)) < 0 ? -errno : 0;
}

/* AUDIT_SYSCALL records of @pid's system call @nr that arrive on @s. */
static int audit_count(int s, pid_t pid, int nr)
{
	char want_nr[32], want_pid[32], buf[8192];
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	int count = 0;

	snprintf(want_nr, sizeof(want_nr), " syscall=%d ", nr);
	snprintf(want_pid, sizeof(want_pid), " pid=%d ", pid);
	while (poll(&pfd, 1, 1000) == 1) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);

		if (n <= 0)
			break;
		buf[n] = '\0';
		if (nlh->nlmsg_type != AUDIT_SYSCALL)
			continue;
		if (strstr(NLMSG_DATA(nlh), want_nr) &&
		    strstr(NLMSG_DATA(nlh), want_pid))
			count++;
	}
	return count;
}

/*
 * Audit sees each nested call as a system call of the task, in a record of
 * its own: an always,exit rule on getppid gets one record per nested
 * getppid(), and the calls run as without the rule.
 */
TEST(audit_records_each_nested_call)
{
	static const char script[] =
		"return function(n)\n"
		"  local r = 0\n"
		"  for i = 1, n do\n"
		"    r = sys.getppid()\n"
		"    if r < 0 then return r end\n"
		"  end\n"
		"  return r\n"
		"end\n";
	int fd, ret, status, s, records;
	pid_t pid, parent = getpid();

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	ret = audit_enable(1);
	if (ret == -EPROTONOSUPPORT || ret == -EAFNOSUPPORT)
		SKIP(return, "no audit (CONFIG_AUDIT)");
	ASSERT_EQ(0, ret);
	s = socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, audit_listen(s, getpid()));
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, audit_getppid_rule(AUDIT_ADD_RULE));

	/* a task forked with audit on has an audit context */
	pid = fork();
	ASSERT_LE(0, pid);
	/* the child makes no getppid() of its own */
	if (pid == 0)
		_exit(lua_call1(fd, 3) == parent ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	records = audit_count(s, pid, __NR_getppid);
	EXPECT_EQ(0, audit_getppid_rule(AUDIT_DEL_RULE));
	EXPECT_EQ(0, audit_listen(s, 0));
	close(s);
	EXPECT_EQ(0, audit_enable(0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("nested calls failed under an audit rule");
	}
	ASSERT_EQ(3, records);
	close(fd);
}

/*
 * A system call needs the kernel stack: a script nested as deep as Lua
 * allows gets a Lua error for it, never a call with too little stack.
 */
TEST(deep_script_needs_stack_for_calls)
{
	static const char script[] =
		"local function deep(n)\n"
		"  if n == 0 then return sys.getppid() end\n"
		"  local ok, r = pcall(deep, n - 1)\n"
		"  if not ok then error(r, 0) end\n"
		"  return r\n"
		"end\n"
		"return function(n) return deep(n) end\n";
	int fd, n, refused = 0;
	char msg[256];
	long ret;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(getppid(), lua_call1(fd, 1));
	for (n = 2; n < 80; n++) {
		ret = lua_call1(fd, n);
		if (ret == getppid())
			continue;
		ASSERT_EQ(-1, ret);
		ASSERT_EQ(ENOEXEC, errno);
		ASSERT_LT(0, lua_last_error(fd, msg, sizeof(msg)));
		ASSERT_NE(NULL, strstr(msg, "stack")) {
			TH_LOG("depth %d: %s", n, msg);
		}
		if (strstr(msg, "not enough kernel stack left"))
			refused++;
	}
	/* the stack check, not Lua's own limit, stopped the deep calls */
	ASSERT_LT(0, refused);
	close(fd);
}

TEST_HARNESS_MAIN
