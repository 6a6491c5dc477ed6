// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restarts of nested system calls are what they are for direct calls:
 *
 * - a nested call interrupted by a notification that delivers no signal
 *   (io_uring's task work) restarts, as the arch signal code restarts a
 *   direct one, instead of failing with EINTR;
 * - a nested call interrupted by a stop (SIGSTOP then SIGCONT, a ptrace
 *   interrupt) or by the cgroup freezer stops or freezes inside the call
 *   and then restarts, as a direct call does;
 * - a nested call interrupted by a signal with a handler fails with EINTR
 *   (the handler runs when lua_syscall() returns), and leaves no restart
 *   armed: restart_syscall() afterwards does not resume it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "lua_syscall_util.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* args: fd, buf, n: one nested read, its result returned as is. */
static const char read_script[] =
	"return function(fd, buf, n) return sys.read(fd, buf, n) end";

struct delayed_write {
	int fd;
	unsigned int delay_ms;
};

static void *write_later(void *arg)
{
	struct delayed_write *dw = arg;
	struct timespec ts = {
		.tv_sec = dw->delay_ms / 1000,
		.tv_nsec = (dw->delay_ms % 1000) * 1000000L,
	};

	nanosleep(&ts, NULL);
	if (write(dw->fd, "x", 1) != 1)
		return (void *)1;
	return NULL;
}

/*
 * A ring with one IORING_OP_TIMEOUT of @ms submitted: when it fires, its
 * completion is task work for this task, announced by TIF_NOTIFY_SIGNAL.
 */
static int submit_timeout(unsigned int ms, struct __kernel_timespec *ts)
{
	struct io_uring_params p = {};
	struct io_uring_sqe *sqes;
	unsigned int *tail, *array, *mask;
	void *sq;
	int fd;

	fd = syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0)
		return -1;
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned int),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		  IORING_OFF_SQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || sqes == MAP_FAILED)
		return -1;
	tail = sq + p.sq_off.tail;
	mask = sq + p.sq_off.ring_mask;
	array = sq + p.sq_off.array;

	ts->tv_sec = ms / 1000;
	ts->tv_nsec = (ms % 1000) * 1000000L;
	memset(&sqes[0], 0, sizeof(sqes[0]));
	sqes[0].opcode = IORING_OP_TIMEOUT;
	sqes[0].addr = (uintptr_t)ts;
	sqes[0].len = 1;
	array[*tail & *mask] = 0;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, fd, 1, 0, 0, NULL, 0) != 1)
		return -1;
	return fd;
}

TEST(notification_restarts_the_nested_call)
{
	struct delayed_write dw = { .delay_ms = 600 };
	struct __kernel_timespec ts;
	int p[2], fd, ring;
	pthread_t writer;
	char buf[4];
	__u64 args[3];
	long ret;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(read_script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(p));
	dw.fd = p[1];

	ring = submit_timeout(100, &ts);
	if (ring < 0)
		SKIP(return, "no io_uring");
	ASSERT_EQ(0, pthread_create(&writer, NULL, write_later, &dw));
	args[0] = p[0];
	args[1] = (uintptr_t)buf;
	args[2] = sizeof(buf);
	/* the timeout's completion interrupts the read at 100 ms */
	ret = sys_lua_syscall(fd, args, 3, 0);
	EXPECT_EQ(1, ret) {
		TH_LOG("nested read: %ld (%s), a direct one restarts", ret,
		       ret < 0 ? strerror(errno) : "");
	}
	pthread_join(writer, NULL);
	close(ring);
	close(p[0]);
	close(p[1]);
	close(fd);
}

/*
 * A child reading one byte from an empty pipe, directly or in a nested
 * read(): it exits with 0 once it has the byte, or with the read's errno.
 */
struct blocked_reader {
	pid_t pid;
	int go;		/* a byte here starts the read */
	int data;	/* a byte here ends it */
};

static void read_one_byte(int go, int data, int lua_fd)
{
	char c;
	__u64 args[3] = { data, (uintptr_t)&c, 1 };
	long ret;

	if (read(go, &c, 1) != 1)
		_exit(100);
	if (lua_fd >= 0)
		ret = sys_lua_syscall(lua_fd, args, 3, 0);
	else
		ret = read(data, &c, 1);
	_exit(ret == 1 ? 0 : ret < 0 ? errno : 101);
}

static int start_reader(struct blocked_reader *r, bool nested)
{
	int go[2], data[2], lua_fd = -1;

	if (nested) {
		lua_fd = lua_register(read_script);
		if (lua_fd < 0)
			return -1;
	}
	if (pipe(go) || pipe(data))
		return -1;
	r->pid = fork();
	if (r->pid < 0)
		return -1;
	if (!r->pid) {
		close(go[1]);
		close(data[1]);
		read_one_byte(go[0], data[0], lua_fd);
	}
	close(go[0]);
	close(data[0]);
	if (lua_fd >= 0)
		close(lua_fd);
	r->go = go[1];
	r->data = data[1];
	return 0;
}

static char task_state(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : '?';
}

/* Lets the reader start and waits until it sleeps in its read. */
static int reader_blocks(struct blocked_reader *r)
{
	int i;

	if (write(r->go, "g", 1) != 1)
		return -1;
	for (i = 0; i < 500; i++) {
		if (task_state(r->pid) == 'S') {
			usleep(50000);	/* in the pipe's wait by now */
			return 0;
		}
		usleep(10000);
	}
	return -1;
}

/* Gives the reader its byte and returns its exit code, or -1. */
static int finish_reader(struct blocked_reader *r)
{
	int status;

	if (write(r->data, "x", 1) != 1)
		return -1;
	if (waitpid(r->pid, &status, 0) != r->pid || !WIFEXITED(status))
		return -1;
	close(r->go);
	close(r->data);
	return WEXITSTATUS(status);
}

static int stop_and_continue(pid_t pid)
{
	int status;

	if (kill(pid, SIGSTOP) ||
	    waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
		return -1;
	if (kill(pid, SIGCONT) ||
	    waitpid(pid, &status, WCONTINUED) != pid || !WIFCONTINUED(status))
		return -1;
	return 0;
}

/*
 * A direct read, then a nested one, each interrupted by @interrupt while
 * it waits: both must restart and get the byte written afterwards.
 */
static void check_restarts(struct __test_metadata *_metadata,
			   int (*interrupt)(pid_t pid), const char *what)
{
	struct blocked_reader r;
	int nested;

	for (nested = 0; nested <= 1; nested++) {
		ASSERT_EQ(0, start_reader(&r, nested));
		ASSERT_EQ(0, reader_blocks(&r));
		ASSERT_EQ(0, interrupt(r.pid));
		EXPECT_EQ(0, finish_reader(&r)) {
			TH_LOG("%s read after %s: not restarted",
			       nested ? "nested" : "direct", what);
		}
	}
}

TEST(stop_and_continue_restart_the_nested_call)
{
	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	check_restarts(_metadata, stop_and_continue, "SIGSTOP, SIGCONT");
}

static int ptrace_interrupt(pid_t pid)
{
	int status;

	if (ptrace(PTRACE_SEIZE, pid, 0, 0) ||
	    ptrace(PTRACE_INTERRUPT, pid, 0, 0))
		return -1;
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status) ||
	    status >> 16 != PTRACE_EVENT_STOP)
		return -1;
	return ptrace(PTRACE_CONT, pid, 0, 0) ? -1 : 0;
}

TEST(ptrace_interrupt_restarts_the_nested_call)
{
	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	check_restarts(_metadata, ptrace_interrupt, "PTRACE_INTERRUPT");
}

/* A cgroup v2 directory of our own for one child, or NULL. */
static const char *freezer_cgroup(char *dir, size_t size)
{
	static const char *const roots[] = { "/sys/fs/cgroup", "/tmp/lua_cg2" };
	char path[256];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", roots[i]);
		if (access(path, F_OK) && i == 1) {
			mkdir(roots[i], 0755);
			mount("none", roots[i], "cgroup2", 0, NULL);
		}
		if (access(path, F_OK))
			continue;
		snprintf(dir, size, "%s/lua_syscall_freeze_%d", roots[i],
			 getpid());
		if (mkdir(dir, 0755) && errno != EEXIST)
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.freeze", dir);
		if (!access(path, W_OK))
			return dir;
		rmdir(dir);
	}
	return NULL;
}

static int write_file(const char *dir, const char *name, const char *val)
{
	char path[256];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ret = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return ret;
}

/* Waits until cgroup.events says "frozen @frozen"; 0 when it does. */
static int wait_frozen(const char *dir, int frozen)
{
	char path[256], buf[256], want[16];
	int i, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	snprintf(want, sizeof(want), "frozen %d", frozen);
	for (i = 0; i < 500; i++) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return -1;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n < 0 ? 0 : n] = '\0';
		if (strstr(buf, want))
			return 0;
		usleep(10000);
	}
	return -1;
}

TEST(freezer_restarts_the_nested_call)
{
	struct blocked_reader r;
	char dir[128], pid[16];
	int nested;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	if (!freezer_cgroup(dir, sizeof(dir)))
		SKIP(return, "no cgroup v2 freezer");
	for (nested = 0; nested <= 1; nested++) {
		ASSERT_EQ(0, start_reader(&r, nested));
		snprintf(pid, sizeof(pid), "%d", r.pid);
		ASSERT_EQ(0, write_file(dir, "cgroup.procs", pid));
		ASSERT_EQ(0, reader_blocks(&r));
		ASSERT_EQ(0, write_file(dir, "cgroup.freeze", "1"));
		EXPECT_EQ(0, wait_frozen(dir, 1)) {
			TH_LOG("%s read: the cgroup did not freeze",
			       nested ? "nested" : "direct");
		}
		ASSERT_EQ(0, write_file(dir, "cgroup.freeze", "0"));
		EXPECT_EQ(0, wait_frozen(dir, 0));
		EXPECT_EQ(0, finish_reader(&r)) {
			TH_LOG("%s read after a freeze: not restarted",
			       nested ? "nested" : "direct");
		}
	}
	rmdir(dir);
}

static void on_usr1(int sig)
{
}

struct delayed_signal {
	pthread_t target;
	unsigned int delay_ms;
};

static void *signal_later(void *arg)
{
	struct delayed_signal *ds = arg;
	struct timespec ts = { .tv_nsec = ds->delay_ms * 1000000L };

	nanosleep(&ts, NULL);
	pthread_kill(ds->target, SIGUSR1);
	return NULL;
}

/* args: seconds: one nested clock_nanosleep(), relative, no remainder. */
static const char sleep_script[] =
	"return function(ts) return sys.clock_nanosleep(1, 0, ts, 0) end";

TEST(interrupted_sleep_leaves_no_restart_armed)
{
	struct delayed_signal ds = { .target = pthread_self(), .delay_ms = 100 };
	struct timespec ts = { .tv_sec = 2 };
	struct sigaction sa = { .sa_handler = on_usr1 };
	pthread_t thread;
	double start;
	long ret;
	int fd;

	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	fd = lua_register(sleep_script);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&thread, NULL, signal_later, &ds));
	ret = lua_call1(fd, (uintptr_t)&ts);
	pthread_join(thread, NULL);
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EINTR, errno);

	/* restart_syscall() must not resume the nested sleep */
	start = now();
	ret = syscall(__NR_restart_syscall);
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EINTR, errno);
	EXPECT_GT(1.0, now() - start) {
		TH_LOG("restart_syscall() resumed the nested sleep");
	}
	close(fd);
}

TEST_HARNESS_MAIN
