// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of lua_syscall under concurrency: threads sharing one state (one
 * runner at a time, no lost update), signals interrupting a nested call
 * (EINTR to the script) but not a running script, and fatal signals for
 * runners and for callers waiting for one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "lua_syscall_util.h"

#define NTHREADS	8
#define NCALLS		500

/*
 * op 1: a read-modify-write of an upvalue with a syscall in the middle: two
 * runners at once would lose updates.  op 2: spin until stopped.  op 3: a
 * blocking read of pipe fd a into b.  Else: the counter.
 */
static const char shared_script[] =
	"local n = 0\n"
	"return function(op, a, b)\n"
	"  if op == 1 then\n"
	"    local v = n\n"
	"    sys.getpid()\n"
	"    n = v + 1\n"
	"  elseif op == 2 then\n"
	"    n = n + 1\n"
	"    while true do end\n"
	"  elseif op == 3 then\n"
	"    local got = sys.read(a, b, 1)\n"
	"    if got == -4 then return 100 end\n"
	"    return 200 + got\n"
	"  end\n"
	"  return n\n"
	"end\n";

static void *increment(void *arg)
{
	int fd = *(int *)arg;
	long failed = 0;
	int i;

	for (i = 0; i < NCALLS; i++)
		if (lua_call1(fd, 1) < 1)
			failed++;
	return (void *)failed;
}

TEST(threads_share_one_state)
{
	pthread_t threads[NTHREADS];
	void *failed;
	int fd, i;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(shared_script);
	ASSERT_LE(0, fd);
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, increment, &fd));
	for (i = 0; i < NTHREADS; i++) {
		ASSERT_EQ(0, pthread_join(threads[i], &failed));
		EXPECT_EQ(0, (long)failed);
	}
	ASSERT_EQ(NTHREADS * NCALLS, lua_call1(fd, 0));
	ASSERT_EQ(NTHREADS * NCALLS + 1, lua_fdinfo_ll(fd, "lua-invocations"));
	close(fd);
}

/* Sysctls restored in the parent: the spinning tests raise insn_limit. */
FIXTURE(spin) {
	struct lua_sysctls sysctls;
	int fd;
};

FIXTURE_SETUP(spin)
{
	self->fd = -1;
	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	if (geteuid() != 0)
		SKIP(return, "needs root to set the sysctls");
	lua_save_sysctls(&self->sysctls);
	/* far more than a test's time: only a signal stops the spin */
	ASSERT_EQ(0, lua_write_sysctl("insn_limit", 1000000000LL));
	self->fd = lua_register(shared_script);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN_PARENT(spin)
{
	if (lua_syscall_supported() && geteuid() == 0)
		lua_restore_sysctls(&self->sysctls);
}

static int signals_seen;

static void count_signal(int sig)
{
	__atomic_fetch_add(&signals_seen, 1, __ATOMIC_RELAXED);
}

static void catch_signal(int sig)
{
	struct sigaction sa = { .sa_handler = count_signal };

	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

struct signaller {
	pthread_t target;
	int stop;
};

/* Keep signalling: one sent before the target is in the syscall is lost. */
static void *signal_repeatedly(void *arg)
{
	struct signaller *s = arg;
	struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		nanosleep(&ts, NULL);
		pthread_kill(s->target, SIGUSR1);
	}
	return NULL;
}

/*
 * A state whose spin ends at the default budget: a signal that is not
 * fatal does not stop a script, so only the budget ends it.
 */
static int budgeted_state(void)
{
	if (lua_write_sysctl("insn_limit", 10 * 1000 * 1000))
		return -1;
	return lua_register(shared_script);
}

TEST_F(spin, signal_from_another_thread)
{
	struct signaller s = { .target = pthread_self() };
	pthread_t thread;
	int err, fd;
	long ret;

	fd = budgeted_state();
	ASSERT_LE(0, fd);
	catch_signal(SIGUSR1);
	ASSERT_EQ(0, pthread_create(&thread, NULL, signal_repeatedly, &s));
	ret = lua_call1(fd, 2);
	err = errno;
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	pthread_join(thread, NULL);
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(ETIME, err);
	/* delivered when the call returned */
	ASSERT_LT(0, __atomic_load_n(&signals_seen, __ATOMIC_RELAXED));
	ASSERT_EQ(ETIME, lua_fdinfo_ll(fd, "lua-last-errno"));
	/* the state is usable after: one spin counted, this call too */
	ASSERT_EQ(1, lua_call1(fd, 0));
	close(fd);
}

TEST_F(spin, signal_from_a_timer)
{
	struct itimerval it = {
		.it_value.tv_usec = 100 * 1000,
		.it_interval.tv_usec = 100 * 1000,
	};
	struct itimerval off = { 0 };
	int fd;

	fd = budgeted_state();
	ASSERT_LE(0, fd);
	catch_signal(SIGALRM);
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	ASSERT_EQ(-1, lua_call1(fd, 2));
	ASSERT_EQ(ETIME, errno);
	setitimer(ITIMER_REAL, &off, NULL);
	ASSERT_EQ(1, lua_call1(fd, 0));
	close(fd);
}

TEST_F(spin, interrupted_nested_call)
{
	struct signaller s = { .target = pthread_self() };
	pthread_t thread;
	char buf[8];
	__u64 args[3];
	long ret;
	int p[2], err;

	ASSERT_EQ(0, pipe(p));
	args[0] = 3;
	args[1] = p[0];
	args[2] = (uintptr_t)buf;
	catch_signal(SIGUSR1);
	ASSERT_EQ(0, pthread_create(&thread, NULL, signal_repeatedly, &s));
	ret = sys_lua_syscall(self->fd, args, 3, 0);
	err = errno;
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	pthread_join(thread, NULL);
	/*
	 * The nested read saw -EINTR, never an -ERESTART* code (512-516),
	 * and the script decided what to return.
	 */
	ASSERT_EQ(100, ret) {
		TH_LOG("errno %d", err);
	}
	ASSERT_EQ(1, write(p[1], "x", 1));
	ASSERT_EQ(201, sys_lua_syscall(self->fd, args, 3, 0));
	close(p[0]);
	close(p[1]);
}

/* Wait up to @ms for @pid; its status, or -1 if it did not end. */
static int wait_ms(pid_t pid, int ms)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	int status, i;

	for (i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static pid_t spin_in_child(int fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		lua_call1(fd, 2);
		_exit(0);
	}
	return pid;
}

TEST_F(spin, fatal_signal_stops_runner_and_waiter)
{
	struct timespec ts = { .tv_nsec = 300 * 1000 * 1000 };
	pid_t runner, waiter;
	int status;

	runner = spin_in_child(self->fd);
	ASSERT_LT(0, runner);
	nanosleep(&ts, NULL);
	/* this one waits for the runner: the wait is killable */
	waiter = spin_in_child(self->fd);
	ASSERT_LT(0, waiter);
	nanosleep(&ts, NULL);

	ASSERT_EQ(0, kill(waiter, SIGKILL));
	status = wait_ms(waiter, 10000);
	if (status == -1) {
		kill(runner, SIGKILL);
		waitpid(runner, NULL, 0);
		waitpid(waiter, NULL, 0);
	}
	ASSERT_NE(-1, status) {
		TH_LOG("a caller waiting for the runner was not killable");
	}
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));

	ASSERT_EQ(0, kill(runner, SIGKILL));
	status = wait_ms(runner, 10000);
	ASSERT_NE(-1, status) {
		TH_LOG("a running script did not stop on SIGKILL");
	}
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));

	/* the state is free again and kept its upvalue (one or two spins) */
	ASSERT_LE(1, lua_call1(self->fd, 0));
	ASSERT_GE(2, lua_call1(self->fd, 0));
}

TEST_HARNESS_MAIN
