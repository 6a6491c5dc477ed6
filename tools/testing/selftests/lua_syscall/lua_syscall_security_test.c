// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of lua_syscall's security model: nested syscalls go through the
 * task's seccomp filter as if the task made them, with every action (TRAP,
 * whose SIGSYS handler would get the outer call's registers, fails with
 * EPERM; TRACE shows the nested call to the tracer), a kill stops the
 * script at once, and registration needs
 * CAP_SYS_ADMIN unless the unprivileged_register sysctl allows it.
 *
 * Each test runs in a process of its own: the filters installed here do
 * not outlive it.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "lua_syscall_util.h"

#include "lua_syscall_seccomp.h"

#ifdef LUA_AUDIT_ARCH

static const char getppid_script[] =
	"return function(k) return sys.getppid() + (k or 0) end";

/* A state running getppid_script, in a process without a filter yet. */
FIXTURE(seccomp) {
	int fd;
};

FIXTURE_SETUP(seccomp)
{
	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	self->fd = lua_register(getppid_script);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(seccomp)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(seccomp, errno_action)
{
	ASSERT_EQ(getppid(), lua_call0(self->fd));
	ASSERT_EQ(0, install_filter(__NR_getppid, ANY_ARG,
				    SECCOMP_RET_ERRNO | EXFULL));
	/* the filter works on the task itself */
	ASSERT_EQ(-1, syscall(__NR_getppid));
	ASSERT_EQ(EXFULL, errno);
	/* and on the script's nested call */
	ASSERT_EQ(-1, lua_call0(self->fd));
	ASSERT_EQ(EXFULL, errno);
	ASSERT_EQ(10000 - EXFULL, lua_call1(self->fd, 10000));
}

TEST_F(seccomp, sees_nested_args)
{
	static const char script[] =
		"return function(m) return sys.umask(m) end";
	int fd = lua_register(script);

	ASSERT_LE(0, fd);
	umask(022);
	ASSERT_EQ(0, install_filter(__NR_umask, 0777,
				    SECCOMP_RET_ERRNO | EXFULL));
	ASSERT_EQ(-1, lua_call1(fd, 0777));
	ASSERT_EQ(EXFULL, errno);
	ASSERT_EQ(022, lua_call1(fd, 027));
	ASSERT_EQ(027, umask(022));
	close(fd);
}

/*
 * ERRNO(0) turns a call into a no-op that returns 0 (libseccomp's
 * SCMP_ACT_ERRNO(0)): the nested call must be skipped too, not run.
 */
TEST_F(seccomp, errno_zero_skips_the_call)
{
	static const char script[] =
		"return function(fd, buf) return sys.write(fd, buf, 1) end";
	char c = 'x';
	int p[2], fd;

	fd = lua_register(script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	ASSERT_EQ(0, install_filter(__NR_write, p[1], SECCOMP_RET_ERRNO | 0));
	/* the task's own write returns 0 and writes nothing */
	ASSERT_EQ(0, write(p[1], &c, 1));
	ASSERT_EQ(-1, read(p[0], &c, 1));
	ASSERT_EQ(EAGAIN, errno);
	/* and so does the script's */
	ASSERT_EQ(0, lua_call2(fd, p[1], (uintptr_t)&c));
	ASSERT_EQ(-1, read(p[0], &c, 1)) {
		TH_LOG("the nested write ran despite SECCOMP_RET_ERRNO(0)");
	}
	ASSERT_EQ(EAGAIN, errno);
	close(fd);
}

TEST_F(seccomp, log_runs_the_call)
{
	ASSERT_EQ(0, install_filter(__NR_getppid, ANY_ARG, SECCOMP_RET_LOG));
	ASSERT_EQ(getppid(), lua_call0(self->fd));
}

/* With no tracer attached, RET_TRACE fails a call with ENOSYS. */
TEST_F(seccomp, trace_without_tracer_is_enosys)
{
	ASSERT_EQ(0, install_filter(__NR_getppid, ANY_ARG, SECCOMP_RET_TRACE));
	ASSERT_EQ(-1, syscall(__NR_getppid));
	ASSERT_EQ(ENOSYS, errno);
	ASSERT_EQ(10000 - ENOSYS, lua_call1(self->fd, 10000));
}

/* Skip the stopped tracee's system call with @result as its return value. */
static int skip_with(pid_t pid, long result)
{
	struct user_regs_struct regs;
	struct iovec iov = { .iov_base = &regs, .iov_len = sizeof(regs) };

	if (ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov))
		return -1;
#if defined(__x86_64__)
	regs.orig_rax = -1;
	regs.rax = result;
	return ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &iov);
#elif defined(__aarch64__)
	{
		int nr = -1;
		struct iovec nr_iov = { .iov_base = &nr, .iov_len = sizeof(nr) };

		regs.regs[0] = result;
		if (ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &iov))
			return -1;
		return ptrace(PTRACE_SETREGSET, pid, NT_ARM_SYSTEM_CALL,
			      &nr_iov);
	}
#else
	return -1;
#endif
}

/*
 * RET_TRACE with a tracer (strace --seccomp-bpf): the tracer sees the
 * nested call at PTRACE_EVENT_SECCOMP, as a direct one, and may skip it
 * with a result of its choice.
 */
TEST(seccomp_trace_with_tracer)
{
	int fd, status, events = 0, nr_seen = -1;
	pid_t pid;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(getppid_script);
	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(2);
		raise(SIGSTOP);
		if (install_filter(__NR_getppid, ANY_ARG, SECCOMP_RET_TRACE))
			_exit(3);
		_exit(lua_call1(fd, 0) == 777 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(0, ptrace(PTRACE_SETOPTIONS, pid, 0,
			    PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL));
	for (;;) {
		struct __ptrace_syscall_info info;

		ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, 0, 0));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (!WIFSTOPPED(status))
			break;
		if (status >> 8 != (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8)))
			continue;
		events++;
		ASSERT_LT(0, ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info),
				    &info));
		ASSERT_EQ(PTRACE_SYSCALL_INFO_SECCOMP, info.op);
		nr_seen = info.seccomp.nr;
		ASSERT_EQ(0, skip_with(pid, 777));
	}
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("the script did not get the tracer's result");
	}
	EXPECT_EQ(1, events);
	EXPECT_EQ(__NR_getppid, nr_seen);
	close(fd);
}

struct notif_supervisor {
	int listener;
	int seen;
	int nr_seen;
};

/* Answer the first notification with 4242, let the second one run. */
static void *supervise(void *arg)
{
	struct notif_supervisor *sup = arg;
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	int i;

	for (i = 0; i < 2; i++) {
		memset(&req, 0, sizeof(req));
		if (ioctl(sup->listener, SECCOMP_IOCTL_NOTIF_RECV, &req))
			break;
		sup->nr_seen = req.data.nr;
		sup->seen++;
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		if (i == 0)
			resp.val = 4242;
		else
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		if (ioctl(sup->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp))
			break;
	}
	return NULL;
}

/* The supervisor answers a nested call, or lets it continue. */
TEST_F(seccomp, user_notif)
{
	static const char script[] =
		"return function(ppid)\n"
		"  local a = sys.getppid()\n"
		"  local b = sys.getppid()\n"
		"  if a == 4242 and b == ppid then return 1 end\n"
		"  return a\n"
		"end\n";
	struct notif_supervisor sup = { 0 };
	pid_t ppid = getppid();
	pthread_t thread;
	int fd;

	fd = lua_register(script);
	ASSERT_LE(0, fd);
	sup.listener = install_filter_flags(__NR_getppid, ANY_ARG,
					    SECCOMP_RET_USER_NOTIF,
					    SECCOMP_FILTER_FLAG_NEW_LISTENER);
	ASSERT_LE(0, sup.listener);
	ASSERT_EQ(0, pthread_create(&thread, NULL, supervise, &sup));
	ASSERT_EQ(1, lua_call1(fd, ppid));
	pthread_join(thread, NULL);
	ASSERT_EQ(2, sup.seen);
	ASSERT_EQ(__NR_getppid, sup.nr_seen);
	close(sup.listener);
	close(fd);
}

/*
 * TRAP and TRACE with a tracer hand the call's registers to a SIGSYS
 * handler or a tracer; a nested call has none of its own: it fails with
 * EPERM, and no SIGSYS is sent.
 */
static int sigsys_seen;

static void count_sigsys(int sig)
{
	__atomic_fetch_add(&sigsys_seen, 1, __ATOMIC_RELAXED);
}

FIXTURE(seccomp_refused) {
	int fd;
};

FIXTURE_VARIANT(seccomp_refused) {
	__u32 action;
};

FIXTURE_VARIANT_ADD(seccomp_refused, trap) {
	.action = SECCOMP_RET_TRAP,
};

FIXTURE_SETUP(seccomp_refused)
{
	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	self->fd = lua_register(getppid_script);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(seccomp_refused)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(seccomp_refused, is_eperm)
{
	signal(SIGSYS, count_sigsys);
	ASSERT_EQ(0, install_filter(__NR_getppid, ANY_ARG, variant->action));
	ASSERT_EQ(10000 - EPERM, lua_call1(self->fd, 10000));
	ASSERT_EQ(0, __atomic_load_n(&sigsys_seen, __ATOMIC_RELAXED));
}

/*
 * A seccomp kill stops the script at once: nothing after the killed call
 * runs, even behind a pcall(), neither Lua code (the upvalue stays 0) nor
 * system calls.  In a child, which the kill ends; the state is shared.
 */
static const char kill_script[] =
	"local after = 0\n"
	"return function(op, fd, buf)\n"
	"  if op == 2 then return after end\n"
	"  pcall(sys.getppid)\n"
	"  after = after + 1\n"
	"  sys.write(fd, buf, 1)\n"
	"  return 7\n"
	"end\n";

static long kill_call(int fd, int pipe_fd)
{
	__u64 args[3];
	char c = 'x';

	args[0] = 1;
	args[1] = pipe_fd;
	args[2] = (uintptr_t)&c;
	return sys_lua_syscall(fd, args, 3, 0);
}

static void *run_kill_script(void *arg)
{
	int *fds = arg;

	if (install_filter(__NR_getppid, ANY_ARG, SECCOMP_RET_KILL_THREAD))
		return NULL;
	kill_call(fds[0], fds[1]);
	return NULL;
}

TEST(seccomp_kill_stops_the_script)
{
	int p[2], fd, status;
	__u32 action;
	pid_t pid;
	char c;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(kill_script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));

	for (action = 0; action < 2; action++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			int fds[2] = { fd, p[1] };
			pthread_t thread;

			if (action == 0) {
				/* another thread lives on: the thread exits */
				if (pthread_create(&thread, NULL,
						   run_kill_script, fds))
					_exit(2);
				pthread_join(thread, NULL);
				_exit(0);
			}
			if (install_filter(__NR_getppid, ANY_ARG,
					   SECCOMP_RET_KILL_PROCESS))
				_exit(2);
			kill_call(fd, p[1]);
			_exit(3);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (action == 0) {
			ASSERT_TRUE(WIFEXITED(status));
			ASSERT_EQ(0, WEXITSTATUS(status));
		} else {
			ASSERT_TRUE(WIFSIGNALED(status));
			ASSERT_EQ(SIGSYS, WTERMSIG(status));
		}
		ASSERT_EQ(-1, read(p[0], &c, 1)) {
			TH_LOG("action %u: a nested call ran after the kill",
			       action);
		}
		ASSERT_EQ(EAGAIN, errno);
		ASSERT_EQ(0, lua_call1(fd, 2)) {
			TH_LOG("action %u: the script ran on after the kill",
			       action);
		}
	}
	close(fd);
}

TEST_F_SIGNAL(seccomp, kill, SIGSYS)
{
	ASSERT_EQ(0, install_filter(__NR_getppid, ANY_ARG,
				    SECCOMP_RET_KILL_PROCESS));
	lua_call0(self->fd);
	TH_LOG("survived a nested call that seccomp kills");
}

TEST_F(seccomp, filters_the_outer_call)
{
	ASSERT_EQ(0, install_filter(__NR_lua_syscall, ANY_ARG,
				    SECCOMP_RET_ERRNO | EXFULL));
	ASSERT_EQ(-1, lua_call0(self->fd));
	ASSERT_EQ(EXFULL, errno);
}

#else

TEST(seccomp)
{
	SKIP(return, "no AUDIT_ARCH for this architecture in the test");
}

#endif /* LUA_AUDIT_ARCH */

/* --- privilege ---------------------------------------------------------- */

FIXTURE(privilege) {
	struct lua_sysctls sysctls;
};

FIXTURE_SETUP(privilege)
{
	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	if (geteuid() != 0)
		SKIP(return, "needs root to set the sysctl");
	lua_save_sysctls(&self->sysctls);
}

FIXTURE_TEARDOWN_PARENT(privilege)
{
	if (lua_syscall_supported() && geteuid() == 0)
		lua_restore_sysctls(&self->sysctls);
}

static int drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	int i = CAP_TO_INDEX(CAP_SYS_ADMIN);
	__u32 mask = CAP_TO_MASK(CAP_SYS_ADMIN);

	if (syscall(__NR_capget, &hdr, data))
		return -1;
	data[i].effective &= ~mask;
	data[i].permitted &= ~mask;
	data[i].inheritable &= ~mask;
	if (syscall(__NR_capset, &hdr, data))
		return -1;
	if (syscall(__NR_capget, &hdr, data) || (data[i].effective & mask))
		return -1;
	return 0;
}

/*
 * In a child without CAP_SYS_ADMIN: register and call, and call @fd
 * registered before.  Exit status: the registration's errno, 0 on success,
 * 100+ when something else went wrong.
 */
static int unprivileged_child(int fd)
{
	int sfd;

	if (drop_cap_sys_admin())
		return 100;
	if (lua_call1(fd, 5) != 5)
		return 101;
	sfd = lua_register(getppid_script);
	if (sfd < 0)
		return errno;
	if (lua_call0(sfd) != getppid())
		return 102;
	close(sfd);
	return 0;
}

static int run_unprivileged(int fd)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(unprivileged_child(fd));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST_F(privilege, unprivileged_register)
{
	int fd = lua_register("return function(k) return k end");

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lua_write_sysctl("unprivileged_register", 0));
	ASSERT_EQ(EPERM, run_unprivileged(fd));
	ASSERT_EQ(0, lua_write_sysctl("unprivileged_register", 1));
	ASSERT_EQ(0, run_unprivileged(fd));
	ASSERT_EQ(0, lua_write_sysctl("unprivileged_register", 0));
	ASSERT_EQ(EPERM, run_unprivileged(fd));
	close(fd);
}

TEST_HARNESS_MAIN
