// SPDX-License-Identifier: GPL-2.0
/*
 * lua_stress: concurrency, signal, memory-cgroup and fault-injection stress
 * of register_lua_syscall() and lua_syscall(), run in the test guest.
 *
 *   lua_stress [SECONDS]
 *
 * Prints one TAP-like line per scenario ("ok N - name: detail" or
 * "not ok N - name: reason").  Each scenario runs for its share of SECONDS
 * (default 60).  What counts as a failure here is a wrong result; kernel
 * splats and leaks are found by the harness in the kernel log and kmemleak.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/lua_syscall.h>

#ifndef __NR_register_lua_syscall
#define __NR_register_lua_syscall 463
#define __NR_lua_syscall 464
#endif

#define NTHREADS	8
#define CGROUP		"/sys/fs/cgroup/lua-stress"
#define SYSCTL		"/proc/sys/kernel/lua_syscall/"

static double budget;		/* seconds per scenario */
static int test_no;
static int failures;

static const char counter_script[] =
	"local n = 0\n"
	"return function(k) n = n + (k or 1) return n end\n";

/* Blocks in a nested read of fd a, returns what it read. */
static const char reader_script[] =
	"return function(fd, buf) return sys.read(fd, buf, 8) end\n";

/* Busy for about k loop turns; closes its own fd first when asked. */
static const char busy_script[] =
	"return function(k, self)\n"
	"  if self then sys.close(self) end\n"
	"  local x = 0\n"
	"  for i = 1, k do x = x + sys.getppid() % 3 end\n"
	"  return x\n"
	"end\n";

/* Grows until the memory budget or the memory cgroup stops it. */
static const char hog_script[] =
	"local keep = {}\n"
	"return function(step)\n"
	"  local s = string.rep('m', step)\n"
	"  for i = 1, 1000000 do keep[#keep + 1] = s .. i end\n"
	"  return #keep\n"
	"end\n";

/* Register with a small log, so that every registration writes one. */
static long register_script(const char *script, size_t len, unsigned int flags)
{
	char log[200];
	struct lua_syscall_reg r = {
		.script = (uintptr_t)script, .script_len = len, .flags = flags,
		.log_buf = (uintptr_t)log, .log_size = sizeof(log),
		.log_level = LUA_SYSCALL_LOG_WARNINGS,
	};

	return syscall(__NR_register_lua_syscall, &r, sizeof(r));
}

static long reg(const char *script, unsigned int flags)
{
	long r = register_script(script, strlen(script), flags);

	return r < 0 ? -errno : r;
}

static long call(int fd, const uint64_t *args, unsigned int nargs)
{
	long r = syscall(__NR_lua_syscall, fd, args, nargs, 0);

	return r == -1 ? -errno : r;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report(int ok, const char *name, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printf("%sok %d - %s: %s\n", ok ? "" : "not ", ++test_no, name, detail);
	fflush(stdout);
	if (!ok)
		failures++;
}

static long fdinfo_value(int fd, const char *key)
{
	char path[64], buf[4096];
	ssize_t n;
	char *p;
	int ifd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ifd = open(path, O_RDONLY);
	if (ifd < 0)
		return -1;
	n = read(ifd, buf, sizeof(buf) - 1);
	close(ifd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, key);
	return p ? strtol(p + strlen(key) + 1, NULL, 10) : -1;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static long read_long(const char *path, const char *key)
{
	char buf[8192];
	ssize_t n;
	char *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (!key)
		return strtol(buf, NULL, 10);
	p = strstr(buf, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void on_signal(int sig)
{
	(void)sig;	/* interrupts the call */
}

/* --- threads on one state and on their own ------------------------------ */

struct worker {
	pthread_t thread;
	int fd;
	double until;
	long calls;
	long errors;
	long last;
};

static void *call_loop(void *arg)
{
	struct worker *w = arg;
	uint64_t one = 1;

	while (now() < w->until) {
		long r = call(w->fd, &one, 1);

		if (r < 0)
			w->errors++;
		else
			w->last = r;
		w->calls++;
	}
	return NULL;
}

static void threads_shared_and_own(void)
{
	struct worker w[NTHREADS];
	long total = 0, errors = 0, final;
	uint64_t zero = 0;
	int shared, i, own_ok = 1;

	shared = reg(counter_script, LUA_SYSCALL_CLOEXEC);
	if (shared < 0) {
		report(0, "threads", "register: %d", shared);
		return;
	}
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .until = now() + budget / 2 };
		/* half the threads share one state, half have their own */
		w[i].fd = i % 2 ? (int)reg(counter_script, 0) : shared;
		pthread_create(&w[i].thread, NULL, call_loop, &w[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].thread, NULL);
		errors += w[i].errors;
		if (w[i].fd == shared) {
			total += w[i].calls;
		} else {
			own_ok &= w[i].last == w[i].calls;
			close(w[i].fd);
		}
	}
	final = call(shared, &zero, 1);
	report(!errors && final == total && own_ok &&
	       fdinfo_value(shared, "lua-invocations") == total + 1,
	       "threads", "%ld calls on the shared state counted %ld, %ld errors, own states %s",
	       total, final, errors, own_ok ? "exact" : "WRONG");
	close(shared);
}

/* --- forked children on an inherited state ------------------------------ */

static void forked_children(void)
{
	int fd = reg(counter_script, 0), i, bad = 0;
	const int kids = 4, per_kid = 200;
	uint64_t zero = 0, one = 1;
	long final;

	for (i = 0; i < kids; i++) {
		if (fork() == 0) {
			int k;

			for (k = 0; k < per_kid; k++)
				if (call(fd, &one, 1) < 0)
					_exit(1);
			_exit(0);
		}
	}
	for (i = 0; i < kids; i++) {
		int status;

		wait(&status);
		bad += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	final = call(fd, &zero, 1);
	report(!bad && final == kids * per_kid, "fork", "%d children x %d calls counted %ld",
	       kids, per_kid, final);
	close(fd);
}

/* --- closing and dup'ing the fd while a call runs ------------------------ */

struct blocked {
	int lfd;
	int pipe_r;
	long ret;
	char buf[8];
};

static void *blocked_call(void *arg)
{
	struct blocked *b = arg;
	uint64_t args[2] = { b->pipe_r, (uintptr_t)b->buf };

	b->ret = call(b->lfd, args, 2);
	return NULL;
}

static void close_and_dup_mid_call(void)
{
	double until = now() + budget;
	long rounds = 0, wrong = 0, selfclose_wrong = 0;

	while (now() < until) {
		struct blocked b = { 0 };
		pthread_t t;
		int p[2], dupfd, lfd;
		uint64_t args[2];

		if (pipe(p))
			break;
		b.lfd = reg(reader_script, 0);
		b.pipe_r = p[0];
		pthread_create(&t, NULL, blocked_call, &b);
		usleep(rounds % 3 * 1000);
		/* dup, close the original, put another file at its number */
		dupfd = dup(b.lfd);
		close(b.lfd);
		dup2(p[1], b.lfd);
		close(dupfd);
		if (write(p[1], "12345678", 8) != 8)
			break;
		pthread_join(t, NULL);
		/* the call ran on the state it started with, or found the new file */
		if (b.ret != 8 && b.ret != -EINVAL && b.ret != -EBADF)
			wrong++;
		close(b.lfd);
		close(p[0]);
		close(p[1]);

		/* a script that closes its own fd */
		lfd = reg(busy_script, 0);
		args[0] = 10;
		args[1] = lfd;
		if (call(lfd, args, 2) < 0 || fcntl(lfd, F_GETFD) != -1)
			selfclose_wrong++;
		rounds++;
	}
	report(!wrong && !selfclose_wrong, "close-dup", "%ld rounds, %ld wrong results, "
	       "%ld wrong self-closes", rounds, wrong, selfclose_wrong);
}

/* --- signals and SIGKILL while a call runs or waits ---------------------- */

static void signals_mid_call(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	double until = now() + budget / 2;
	long rounds = 0, wrong = 0, interrupted = 0;

	sigaction(SIGUSR1, &sa, NULL);
	while (now() < until) {
		struct blocked b = { 0 };
		pthread_t t;
		int p[2];

		if (pipe(p))
			break;
		b.lfd = reg(reader_script, 0);
		b.pipe_r = p[0];
		pthread_create(&t, NULL, blocked_call, &b);
		usleep(1000 + rounds % 5 * 1000);
		pthread_kill(t, SIGUSR1);
		usleep(20000);
		/* a signal that came before the call cannot stop it: the data does */
		if (write(p[1], "12345678", 8) != 8)
			break;
		pthread_join(t, NULL);
		if (b.ret == -EINTR)
			interrupted++;
		else if (b.ret != 8)
			wrong++;
		close(b.lfd);
		close(p[0]);
		close(p[1]);
		rounds++;
	}
	report(!wrong && interrupted, "signal", "%ld calls sent SIGUSR1: %ld ended in EINTR, "
	       "%ld wrong results", rounds, interrupted, wrong);
}

static void sigkill_mid_call(void)
{
	double until = now() + budget / 2;
	long rounds = 0, not_killed = 0, after;
	int shared = reg(busy_script, 0);
	uint64_t args[1] = { 20 };

	while (now() < until) {
		pid_t kids[3];
		int i;

		/* one runs, two wait for the state; all die mid-way */
		for (i = 0; i < 3; i++) {
			kids[i] = fork();
			if (kids[i] == 0) {
				uint64_t big = 100000000;

				for (;;)
					call(shared, &big, 1);
			}
		}
		usleep(rounds % 7 * 2000);
		for (i = 0; i < 3; i++)
			kill(kids[i], SIGKILL);
		for (i = 0; i < 3; i++) {
			int status;

			waitpid(kids[i], &status, 0);
			not_killed += !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		}
		rounds++;
	}
	after = call(shared, args, 1);
	report(!not_killed && after >= 0, "sigkill", "%ld rounds of 3 children killed mid-call, "
	       "state still works: %ld", rounds, after);
	close(shared);
}

/* --- register/close cycles: nothing may stay behind ---------------------- */

static int count_fds(void)
{
	int n = 0, fd;

	for (fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

static void register_close_cycles(void)
{
	static const char *const scripts[] = {
		counter_script, busy_script, hog_script,
		"return 1",			/* not a function: EINVAL */
		"error('top')",			/* ENOEXEC */
		"local t = {} for i = 1, 100000 do t[i] = i end return function() end",
		"return function() return coroutine.wrap(function() coroutine.yield(1) end)() end",
	};
	double until = now() + budget;
	long cycles = 0, slab_before, slab_after;
	int fds_before = count_fds();
	uint64_t args[2] = { 1000, 0 };

	slab_before = read_long("/proc/meminfo", "Slab:");
	while (now() < until) {
		const char *s = scripts[cycles % (sizeof(scripts) / sizeof(scripts[0]))];
		long fd = reg(s, cycles & 1 ? LUA_SYSCALL_CLOEXEC : 0);

		if (fd >= 0) {
			call(fd, args, 1);
			close(fd);
		}
		cycles++;
	}
	slab_after = read_long("/proc/meminfo", "Slab:");
	report(count_fds() == fds_before, "cycles", "%ld register/call/close cycles, fds %d -> "
	       "%d, Slab %ld -> %ld kB", cycles, fds_before, count_fds(), slab_before, slab_after);
}

/* --- the memory cgroup's limit, hit mid-script ---------------------------- */

static void memcg_limit(void)
{
	double until = now() + budget;
	long rounds = 0, enomem = 0, killed = 0, other = 0, current = -1;
	int other_status = 0;
	char saved[32] = "1048576";
	int fd;

	write_str("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	mkdir(CGROUP, 0755);
	if (write_str(CGROUP "/memory.max", "16M")) {
		report(1, "memcg", "# SKIP no memory cgroup controller");
		return;
	}
	/* a state budget far above the cgroup's limit: the cgroup stops it */
	fd = open(SYSCTL "mem_limit", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, saved, sizeof(saved) - 1);

		saved[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	write_str(SYSCTL "mem_limit", "268435456");
	while (now() < until) {
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			char me[16];
			uint64_t step = 1024 << (rounds % 6);
			long lfd, r;

			snprintf(me, sizeof(me), "%d", getpid());
			if (write_str(CGROUP "/cgroup.procs", me))
				_exit(3);
			/* every other child cannot be OOM-killed: its charge fails instead */
			if (rounds % 2 && write_str("/proc/self/oom_score_adj", "-1000"))
				_exit(3);
			lfd = reg(hog_script, 0);
			if (lfd < 0)
				_exit(lfd == -ENOMEM ? 0 : 4);
			r = call(lfd, &step, 1);
			_exit(r == -ENOMEM ? 0 : r == -ETIME ? 5 : 6);
		}
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			killed++;		/* the cgroup's OOM killer chose it */
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			enomem++;
		else
			other_status = status, other++;
		rounds++;
	}
	write_str(SYSCTL "mem_limit", saved);
	usleep(100000);
	current = read_long(CGROUP "/memory.current", NULL);
	report(!other && enomem + killed == rounds && current < 2 * 1024 * 1024, "memcg",
	       "%ld children hit memory.max=16M: %ld ENOMEM, %ld OOM-killed, %ld other "
	       "(last wait status 0x%x); memory.current after: %ld bytes, oom_kill events %ld",
	       rounds, enomem, killed, other, other_status, current,
	       read_long(CGROUP "/memory.events", "oom_kill "));
	rmdir(CGROUP);
}

/* --- every allocation of a registration and a call, failed in turn -------- */

static int nth_fd = -1;

static void arm(int nth)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", nth);
	if (pwrite(nth_fd, buf, strlen(buf), 0) < 0)
		perror("fail-nth");
}

/* 1 when the armed failure was injected (the counter ran down to 0). */
static int disarm(void)
{
	char buf[16] = "";

	if (pread(nth_fd, buf, sizeof(buf) - 1, 0) < 0)
		return 0;
	if (atoi(buf) == 0)
		return 1;
	/* the read itself may have run the count down: then this write faults */
	if (pwrite(nth_fd, "0", 1, 0) < 0 && errno != EFAULT)
		perror("fail-nth");
	return 0;
}

static void fault_injection(void)
{
	static const char script[] =
		"local t = {} for i = 1, 50 do t[i] = string.rep('x', i) end\n"
		"local co = coroutine.create(function(a) coroutine.yield(a) return a end)\n"
		"return function(a, buf)\n"
		"  local s = table.concat(t) .. mem.read(buf, 16)\n"
		"  coroutine.resume(co, a)\n"
		"  return #s + sys.getppid() * 0\n"
		"end\n";
	double until = now() + budget / 2;
	long reg_points = 0, call_points = 0, wrong = 0;
	int reg_done = 0, call_done = 0;
	char buf[16] = "0123456789abcdef";
	uint64_t args[2] = { 1, (uintptr_t)buf };
	int nth, fired, fd;

	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (nth_fd < 0) {
		report(1, "fail-nth", "# SKIP no /proc/thread-self/fail-nth");
		return;
	}
	/* registration: every fault point in turn, until none is left */
	for (nth = 1; now() < until; nth++) {
		long r;

		arm(nth);
		r = reg(script, 0);
		fired = disarm();
		if (r >= 0) {
			if (call(r, args, 2) != 1291)
				wrong++;
			close(r);
		} else if (r != -ENOMEM && r != -EFAULT && r != -ENOEXEC) {
			wrong++;
		}
		if (!fired) {
			reg_done = 1;
			break;
		}
		reg_points++;
	}
	until = now() + budget / 2;
	fd = reg(script, 0);
	for (nth = 1; fd >= 0 && now() < until; nth++) {
		long r;

		arm(nth);
		r = call(fd, args, 2);
		fired = disarm();
		if (r != 1291 && r != -ENOMEM && r != -EFAULT && r != -ENOEXEC)
			wrong++;
		if (!fired) {
			call_done = 1;
			break;
		}
		call_points++;
	}
	if (fd >= 0 && call(fd, args, 2) != 1291)
		wrong++;
	close(fd);
	close(nth_fd);
	report(!wrong, "fail-nth", "%ld fault points in register%s, %ld in a call%s, each "
	       "failed in turn; %ld unexpected results", reg_points,
	       reg_done ? " (all)" : " (budget ran out)", call_points,
	       call_done ? " (all)" : " (budget ran out)", wrong);
}

int main(int argc, char **argv)
{
	double total = argc > 1 ? atof(argv[1]) : 60;
	long probe;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* the default budgets, whatever ran before */
	write_str(SYSCTL "mem_limit", "1048576");
	write_str(SYSCTL "insn_limit", "10000000");
	probe = reg(counter_script, 0);
	if (probe < 0) {
		printf("not ok 1 - register: %ld\n", probe);
		return 1;
	}
	close(probe);
	budget = total / 7;
	threads_shared_and_own();
	forked_children();
	close_and_dup_mid_call();
	signals_mid_call();
	sigkill_mid_call();
	register_close_cycles();
	memcg_limit();
	fault_injection();
	printf("1..%d\n", test_no);
	return failures ? 1 : 0;
}
