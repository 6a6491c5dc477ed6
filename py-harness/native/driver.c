// SPDX-License-Identifier: GPL-2.0-only
/*
 * native-clock driver: times, interleaved in one process pinned to one CPU, the host's
 * own getppid() crossing and a burst of 64 of them, and the kernel side of lua_syscall()
 * in the user-space replica (kstub.c and the kernel objects): an empty call, the nested
 * getppid script with n = 0, 1 and 64, and the kernel's dispatch of getppid alone.
 *
 * Usage: driver [--rounds R] [--cpu C] [--sample-us U]
 * Prints one JSON object: the per-round ns per operation of every workload (each a
 * clock_gettime()-timed loop of ~U us), the stand-ins each replica workload called once,
 * and the environment. Statistics are left to native_clock.py.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "native.h"

long nc_on_stack(long (*fn)(void *), void *arg, void *top);

#define BURST 64
#define NESTED 64

static const char empty_script[] = "return function() end";
/* The script of `lua-syscall profile` (py-harness/profiler/profile_guest.c). */
static const char nested_script[] =
	"local getppid = sys.getppid\n"
	"return function(n) local r = 0\n"
	"  for _ = 1, n do r = getppid() end\n"
	"  return r end\n";

enum workload {
	W_CROSSING,	/* host getppid(), one crossing */
	W_BURST,	/* BURST host getppid() */
	W_EMPTY,	/* replica: lua_syscall() of the empty entry */
	W_NESTED0,	/* replica: the nested script, n = 0 */
	W_NESTED1,	/* n = 1 */
	W_NESTED64,	/* n = NESTED */
	W_DISPATCH,	/* replica: x64_sys_call(getppid), the crossing's in-kernel body */
	W_COUNT
};

static const char *const workload_names[W_COUNT] = {
	"crossing", "burst64", "empty", "nested0", "nested1", "nested64", "dispatch",
};

static void *top;
static int empty_fd, nested_fd;
static long ppid;

static inline long raw_getppid(void)
{
	long ret;

	asm volatile("syscall" : "=a"(ret) : "0"((long)SYS_getppid)
		     : "rcx", "r11", "memory");
	return ret;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "native-clock driver: %s\n", what);
	exit(1);
}

/* One operation of a workload; its result must be what getppid() or the script returns. */
static long run_one(int w)
{
	unsigned long long arg;
	long ret = 0;
	int i;

	switch (w) {
	case W_CROSSING:
		return raw_getppid();
	case W_BURST:
		for (i = 0; i < BURST; i++)
			ret = raw_getppid();
		return ret;
	case W_EMPTY:
		return nc_lua_syscall(empty_fd, NULL, 0) == 0 ? ppid : -1;
	case W_NESTED0:
		arg = 0;
		return nc_lua_syscall(nested_fd, &arg, 1) == 0 ? ppid : -1;
	case W_NESTED1:
		arg = 1;
		return nc_lua_syscall(nested_fd, &arg, 1);
	case W_NESTED64:
		arg = NESTED;
		return nc_lua_syscall(nested_fd, &arg, 1);
	case W_DISPATCH:
		return nc_getppid();
	}
	return -1;
}

struct timing {
	int w;
	long iters;
	double ns_per_op;
	long bad;
};

/* On the task's stack: iters operations of one workload, timed as a whole. */
static long timed_loop(void *p)
{
	struct timing *t = p;
	double t0, t1;
	long i;

	t->bad = 0;
	t0 = now_ns();
	for (i = 0; i < t->iters; i++)
		if (run_one(t->w) != ppid)
			t->bad++;
	t1 = now_ns();
	t->ns_per_op = (t1 - t0) / t->iters;
	return 0;
}

static double timed(int w, long iters)
{
	struct timing t = { .w = w, .iters = iters };

	nc_on_stack(timed_loop, &t, top);
	if (t.bad) {
		fprintf(stderr, "native-clock driver: %s: %ld wrong results (last error: %s)\n",
			workload_names[w], t.bad,
			nc_last_error(w == W_EMPTY ? empty_fd : nested_fd));
		exit(1);
	}
	return t.ns_per_op;
}

struct reg {
	const char *script;
	long fd;
};

static long do_register(void *p)
{
	struct reg *r = p;

	r->fd = nc_register(r->script, strlen(r->script));
	return 0;
}

static int must_register(const char *script)
{
	struct reg r = { .script = script };

	nc_on_stack(do_register, &r, top);
	if (r.fd < 0) {
		fprintf(stderr, "native-clock driver: register failed: %ld\n", r.fd);
		exit(1);
	}
	return r.fd;
}

static void print_cpuinfo_model(void)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10)) {
			char *v = strchr(line, ':');

			v = v ? v + 2 : line;
			v[strcspn(v, "\n")] = 0;
			printf("\"cpu_model_seen_by_driver\": \"%s\", ", v);
			break;
		}
	fclose(f);
}

int main(int argc, char **argv)
{
	static const char *const standin_names[NC_NR_STANDINS] = NC_STANDIN_NAMES;
	int rounds = 41, cpu = -1, sample_us = 200, r, w, i;
	unsigned long calls[NC_NR_STANDINS];
	double *ns[W_COUNT];
	long iters[W_COUNT];
	unsigned long gs = 1;
	size_t tsize;
	char *region;
	cpu_set_t set;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--rounds"))
			rounds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--cpu"))
			cpu = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--sample-us"))
			sample_us = atoi(argv[i + 1]);
		else
			die("usage: driver [--rounds R] [--cpu C] [--sample-us U]");
	}
	if (i != argc || rounds < 3 || sample_us < 1)
		die("usage: driver [--rounds R] [--cpu C] [--sample-us U]");

	/* %gs:pcpu_hot must be pcpu_hot: the kernel objects reach per-CPU data through %gs. */
	if (syscall(SYS_arch_prctl, ARCH_GET_GS, &gs) || gs != 0)
		die("the GS base is not 0: per-CPU data would be elsewhere");

	if (cpu < 0)
		cpu = sysconf(_SC_NPROCESSORS_ONLN) - 1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity failed");

	/*
	 * The task's stack: THREAD_SIZE bytes aligned to THREAD_SIZE, its register frame at
	 * the top; room below it for the C library that the allocator's stand-in calls.
	 */
	tsize = nc_thread_size();
	region = aligned_alloc(tsize, 4 * tsize);
	if (!region)
		die("out of memory");
	memset(region, 0, 4 * tsize);
	ppid = getppid();
	nc_kernel_init(region + 3 * tsize, getpid(), ppid);
	top = (char *)nc_user_regs() - 64;

	empty_fd = must_register(empty_script);
	nested_fd = must_register(nested_script);

	/* Census: the stand-ins one operation of each replica workload calls; and warm-up. */
	printf("{\"standins_per_op\": {");
	for (w = W_EMPTY; w < W_COUNT; w++) {
		memcpy(calls, nc_calls, sizeof(calls));
		timed(w, 1);
		printf("%s\"%s\": {", w == W_EMPTY ? "" : ", ", workload_names[w]);
		for (i = 0; i < NC_NR_STANDINS; i++)
			printf("%s\"%s\": %lu", i ? ", " : "", standin_names[i],
			       nc_calls[i] - calls[i]);
		printf("}");
	}
	printf("}, ");

	/* Calibrate: iterations per sample of about sample_us. */
	for (w = 0; w < W_COUNT; w++) {
		double t = timed(w, 50);

		t = timed(w, 200);
		iters[w] = (long)(sample_us * 1e3 / t);
		if (iters[w] < 5)
			iters[w] = 5;
		ns[w] = calloc(rounds, sizeof(double));
	}

	/* Rounds: every workload once per round, in an order rotated each round. */
	for (r = 0; r < rounds; r++)
		for (i = 0; i < W_COUNT; i++) {
			w = (i + r) % W_COUNT;
			ns[w][r] = timed(w, iters[w]);
		}

	print_cpuinfo_model();
	printf("\"cpu\": %d, \"rounds\": %d, \"sample_us\": %d, \"burst\": %d, \"nested\": %d, "
	       "\"thread_size\": %zu, \"iterations\": {", cpu, rounds, sample_us, BURST, NESTED,
	       tsize);
	for (w = 0; w < W_COUNT; w++)
		printf("%s\"%s\": %ld", w ? ", " : "", workload_names[w], iters[w]);
	printf("}, \"ns_per_op\": {");
	for (w = 0; w < W_COUNT; w++) {
		printf("%s\"%s\": [", w ? ", " : "", workload_names[w]);
		for (r = 0; r < rounds; r++)
			printf("%s%.3f", r ? ", " : "", ns[w][r]);
		printf("]");
	}
	printf("}}\n");
	return 0;
}
