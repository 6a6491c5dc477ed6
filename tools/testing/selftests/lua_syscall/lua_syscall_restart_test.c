// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restarts of nested system calls are what they are for direct calls:
 *
 * - a nested call interrupted by a notification that delivers no signal
 *   (io_uring's task work) restarts, as the arch signal code restarts a
 *   direct one, instead of failing with EINTR;
 * - a nested call interrupted by a signal with a handler fails with EINTR
 *   (the handler runs when lua_syscall() returns), and leaves no restart
 *   armed: restart_syscall() afterwards does not resume it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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
