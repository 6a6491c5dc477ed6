// SPDX-License-Identifier: GPL-2.0
/*
 * lua_fuzz_exec: runs a corpus of generated lua_syscall programs in the test
 * guest, fast enough for thousands of programs per boot under QEMU TCG.
 *
 *   lua_fuzz_exec CORPUS RESULTS [SECONDS [K/N]]
 *
 * With K/N, runs only the programs at positions K, K + N, ... of the corpus,
 * so that N executors share the guest's CPUs (they also share the sysctls:
 * one may run a program under the other's budgets).
 *
 * The corpus is written by lua_syscall_harness.fuzz (corpus.py): for each
 * program a line "P <id> <script bytes>", a line of key=value parameters and
 * the script.  A supervisor forks a worker that runs the programs in order; a
 * worker that dies or hangs is recorded against its program and replaced.
 *
 * Every program sees the same world, so a program is reproducible from its
 * text alone: the fds and memory of fuzz/layout.py (FUZZ_* below, checked
 * against it by a host test), reset before each program.  Results, one line
 * per program, go to RESULTS:
 *
 *   R <id> reg=<ret> calls=<ret>,<ret>... nth=<fired> info=<ok>
 *   C <id> <how the worker died>
 *   K <id> <kernel log line that reports a bug>
 *
 * where a ret is a return value or -errno.
 *
 * A program with seccomp_nr/seccomp_act parameters runs in a child forked
 * (sharing the worker's fd table) for it alone, which installs a seccomp
 * filter applying that action to that system call, then registers and calls
 * the script.  The child makes no direct call the filter could hit: every hit
 * is a nested call.  The worker answers USER_NOTIF notifications (an errno, a
 * value, CONTINUE in turn).  A child killed by SIGSYS is expected only for the
 * KILL actions; a SIGSYS caught by the child's handler (TRAP must not send
 * one for a nested call) or a child killed for another reason is a finding.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/lua_syscall.h>
#include <linux/sched.h>
#include <linux/seccomp.h>

#ifndef __NR_register_lua_syscall
#define __NR_register_lua_syscall 463
#define __NR_lua_syscall 464
#endif

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

/* The world of a program; keep in sync with fuzz/layout.py. */
#define FUZZ_DATA		0x20000000UL	/* read-write */
#define FUZZ_DATA_SIZE		0x10000UL
#define FUZZ_HOLE		0x20010000UL	/* never mapped */
#define FUZZ_RO			0x20011000UL	/* PROT_READ */
#define FUZZ_NOACCESS		0x20012000UL	/* PROT_NONE */
#define FUZZ_AREA_END		0x20013000UL
#define FUZZ_SCRIPT_END		0x30000000UL	/* the script ends here, a hole follows */
#define FUZZ_PATH_OFF		0xF000		/* "/tmp/lua-fuzz-file" */
#define FUZZ_IOV_OFF		0xF100		/* 2 iovecs into the data area */
#define FUZZ_TS_OFF		0xF200		/* timespec { 0, 1000 } */
#define FUZZ_POLL_OFF		0xF300		/* pollfds of the pipe and sockets */
#define FUZZ_SIGSET_OFF		0xF400		/* sigsets: empty, USR1|USR2, all */
#define FUZZ_SIGSET_OLD_OFF	0xF420		/* rt_sigprocmask's old mask */
#define FUZZ_ZTS_OFF		0xF440		/* timespec { 0, 0 } */
#define FUZZ_SIG6_OFF		0xF480		/* 4 pselect6 { sigset *, size } */
#define FUZZ_FDSET_OFF		0xF500		/* fd_set: pipe, STREAM0, DGRAM0 */
#define FUZZ_DEVNULL_OFF	0xF600		/* "/dev/null" */
#define FUZZ_PIPEFD_OFF		0xF700		/* int[2] for pipe2() loops */
#define FUZZ_FD_PIPE_R		200
#define FUZZ_FD_PIPE_W		201
#define FUZZ_FD_STREAM0		202
#define FUZZ_FD_STREAM1		203
#define FUZZ_FD_DGRAM0		204
#define FUZZ_FD_DGRAM1		205
#define FUZZ_FD_EVENT		206
#define FUZZ_FD_MEMFD		207
#define FUZZ_FD_NULL		208
#define FUZZ_FD_FILE		209
#define FUZZ_FD_EPOLL		210
#define FUZZ_FD_LAST		215		/* scripts may dup up to here */
#define FUZZ_PIPE_PRELOAD	16		/* bytes waiting in the pipe */
#define FUZZ_ARG_SELF		"F"		/* argument token: the state's fd */

#define MAX_CALLS	8
#define WATCHDOG_S	60	/* a program running longer is killed */
#define WORKER_BATCH	400	/* programs per worker: leaks of scripts stay small */
#define SEGV_EXIT	99	/* a worker's exit status after a SIGSEGV */
#define RESULTS_FD	3
#define KMSG_FD		4

struct program {
	long id;
	const char *params;
	size_t params_len;
	const char *script;
	size_t len;
};

struct params {
	unsigned long reg_flags;
	long reg_len;		/* -1: the script's length */
	int reg_ptr;		/* 0 script, 1 NULL, 2 kernel address */
	unsigned long mem_limit, insn_limit;	/* 0: leave the sysctl */
	int nth_reg, nth_call;	/* fail the nth allocation/copy; 0 off */
	int calls;
	long nargs;		/* -1: the number of args */
	unsigned long call_flags;
	int args_ptr;		/* 0 args, 1 NULL, 2 unmapped */
	int alarm_ms;
	int nargs_given;
	char args[LUA_SYSCALL_MAX_ARGS][24];
	long seccomp_nr;	/* -1: no filter */
	unsigned int seccomp_act;
};

/* What the calls of a program returned; shared with a seccomp child. */
struct results {
	long reg;
	int reg_done;			/* 0: killed inside register_lua_syscall() */
	int ncalls;
	long calls[MAX_CALLS];
	int fired;
	volatile int listener;		/* USER_NOTIF listener fd, -1 none */
	volatile int nth_fd;		/* the child's fail-nth fd, -1 none */
	volatile int filter_err;	/* errno of a filter that could not be set */
	volatile int sigsys;		/* SIGSYS the child's handler caught */
	volatile int sigsys_nr;
	volatile int sigsys_in_lua;	/* it came on return from one of our calls */
	volatile int in_lua;		/* in register_lua_syscall() or lua_syscall() */
	char slow[160];			/* a call slower than its budget allows */
};

/* Shared with the supervisor: which program the worker is in, and since when. */
struct progress {
	volatile long index;
	volatile long done;
	volatile time_t started;
	volatile int segv_code;		/* si_code of a worker's SIGSEGV */
	volatile unsigned long segv_addr;
};

static struct program *progs;
static long nprogs;
static struct progress *progress;
static time_t deadline;
static struct results *child_res;	/* MAP_SHARED, for seccomp children */

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void emit(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	if (write(RESULTS_FD, line, n) != n)
		die("write results");
}

static void load_corpus(const char *path)
{
	struct stat st;
	const char *p, *end;
	long cap = 1024;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die(path);
	p = mmap(NULL, st.st_size ?: 1, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap corpus");
	close(fd);
	end = p + st.st_size;
	progs = calloc(cap, sizeof(*progs));
	while (p < end) {
		struct program *pr;
		const char *nl;
		char *after;

		if (nprogs == cap) {
			cap *= 2;
			progs = realloc(progs, cap * sizeof(*progs));
			if (!progs)
				die("realloc");
		}
		pr = &progs[nprogs];
		if (*p != 'P')
			break;
		pr->id = strtol(p + 2, &after, 10);
		pr->len = strtoul(after, &after, 10);
		p = after + 1;
		nl = memchr(p, '\n', end - p);
		if (!nl)
			break;
		pr->params = p;
		pr->params_len = nl - p;
		pr->script = nl + 1;
		if (pr->script + pr->len + 1 > end)
			break;
		p = pr->script + pr->len + 1;
		nprogs++;
	}
}

static unsigned long param_ul(const struct program *pr, const char *key, unsigned long def)
{
	char pat[32];
	const char *p = pr->params, *end = pr->params + pr->params_len;
	size_t klen;

	klen = snprintf(pat, sizeof(pat), "%s=", key);
	while (p < end) {
		if ((p == pr->params || p[-1] == ' ') && (size_t)(end - p) > klen &&
		    !memcmp(p, pat, klen))
			return strtoull(p + klen, NULL, 0);
		p++;
	}
	return def;
}

static void parse_params(const struct program *pr, struct params *pa)
{
	const char *p, *end = pr->params + pr->params_len;

	memset(pa, 0, sizeof(*pa));
	pa->reg_flags = param_ul(pr, "reg_flags", 0);
	pa->reg_len = (long)param_ul(pr, "reg_len", (unsigned long)-1);
	pa->reg_ptr = param_ul(pr, "reg_ptr", 0);
	pa->mem_limit = param_ul(pr, "mem_limit", 0);
	pa->insn_limit = param_ul(pr, "insn_limit", 0);
	pa->nth_reg = param_ul(pr, "nth_reg", 0);
	pa->nth_call = param_ul(pr, "nth_call", 0);
	pa->calls = param_ul(pr, "calls", 1);
	if (pa->calls > MAX_CALLS)
		pa->calls = MAX_CALLS;
	pa->nargs = (long)param_ul(pr, "nargs", (unsigned long)-1);
	pa->call_flags = param_ul(pr, "call_flags", 0);
	pa->args_ptr = param_ul(pr, "args_ptr", 0);
	pa->alarm_ms = param_ul(pr, "alarm_ms", 0);
	pa->seccomp_nr = (long)param_ul(pr, "seccomp_nr", (unsigned long)-1);
	pa->seccomp_act = param_ul(pr, "seccomp_act", SECCOMP_RET_ALLOW);

	/* args=a,b,c: integers or FUZZ_ARG_SELF */
	for (p = pr->params; p + 5 <= end; p++) {
		if ((p == pr->params || p[-1] == ' ') && !memcmp(p, "args=", 5))
			break;
	}
	if (p + 5 > end)
		return;
	p += 5;
	while (p < end && *p != ' ' && pa->nargs_given < LUA_SYSCALL_MAX_ARGS) {
		size_t n = strcspn(p, ", ");

		if ((long)n > end - p)
			n = end - p;
		if (n >= sizeof(pa->args[0]))
			n = sizeof(pa->args[0]) - 1;
		memcpy(pa->args[pa->nargs_given], p, n);
		pa->args[pa->nargs_given++][n] = '\0';
		p += n;
		if (p < end && *p == ',')
			p++;
	}
}

/* --- the world of a program --------------------------------------------- */

static void map_fixed(unsigned long addr, size_t size, int prot)
{
	void *p = mmap((void *)addr, size, prot,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p == MAP_FAILED)
		die("mmap fixed");
}

static void reset_memory(void)
{
	struct iovec iov[2] = {
		{ (void *)FUZZ_DATA, 64 }, { (void *)(FUZZ_DATA + 128), 64 },
	};
	struct timespec ts = { 0, 1000 };
	struct pollfd pfd[3] = {
		{ FUZZ_FD_PIPE_R, POLLIN, 0 },
		{ FUZZ_FD_STREAM0, POLLIN, 0 },
		{ FUZZ_FD_DGRAM0, POLLIN, 0 },
	};
	uint64_t sigsets[3] = {
		0, (1ULL << (SIGUSR1 - 1)) | (1ULL << (SIGUSR2 - 1)), ~0ULL,
	};
	uint64_t sig6[8] = {
		FUZZ_DATA + FUZZ_SIGSET_OFF, 8,
		FUZZ_DATA + FUZZ_SIGSET_OFF + 16, 8,
		FUZZ_DATA + FUZZ_SIGSET_OFF + 8, 16,	/* a wrong size */
		FUZZ_HOLE, 8,				/* a bad pointer */
	};
	unsigned char *d = (unsigned char *)FUZZ_DATA;
	size_t i;

	/* Scripts may have unmapped or protected any of it. */
	munmap((void *)FUZZ_DATA, FUZZ_AREA_END - FUZZ_DATA);
	map_fixed(FUZZ_DATA, FUZZ_DATA_SIZE, PROT_READ | PROT_WRITE);
	map_fixed(FUZZ_RO, 0x1000, PROT_READ | PROT_WRITE);
	for (i = 0; i < 0x1000; i++)
		((unsigned char *)FUZZ_RO)[i] = i * 7;
	if (mprotect((void *)FUZZ_RO, 0x1000, PROT_READ))
		die("mprotect");
	map_fixed(FUZZ_NOACCESS, 0x1000, PROT_NONE);
	for (i = 0; i < 0x100; i++)
		d[i] = i;
	strcpy((char *)FUZZ_DATA + FUZZ_PATH_OFF, "/tmp/lua-fuzz-file");
	memcpy(d + FUZZ_IOV_OFF, iov, sizeof(iov));
	memcpy(d + FUZZ_TS_OFF, &ts, sizeof(ts));
	memcpy(d + FUZZ_POLL_OFF, pfd, sizeof(pfd));
	memcpy(d + FUZZ_SIGSET_OFF, sigsets, sizeof(sigsets));
	memcpy(d + FUZZ_SIG6_OFF, sig6, sizeof(sig6));
	for (i = 0; i < 3; i++) {
		int fd = (int[]){ FUZZ_FD_PIPE_R, FUZZ_FD_STREAM0, FUZZ_FD_DGRAM0 }[i];

		d[FUZZ_FDSET_OFF + fd / 8] |= 1 << (fd % 8);
	}
	strcpy((char *)FUZZ_DATA + FUZZ_DEVNULL_OFF, "/dev/null");
}

static void place(int fd, int target)
{
	if (fd < 0)
		die("fuzz fd");
	if (fd != target) {
		if (dup2(fd, target) < 0)
			die("dup2");
		close(fd);
	}
}

static void reset_fds(void)
{
	int p[2], s[2];

	/* Every fd a script opened goes, except ours (0-4). */
	if (syscall(SYS_close_range, 5, ~0U, 0))
		die("close_range");
	if (pipe2(p, O_NONBLOCK) == 0)
		fcntl(p[0], F_SETFL, 0);
	else
		die("pipe");
	place(p[0], FUZZ_FD_PIPE_R);
	place(p[1], FUZZ_FD_PIPE_W);
	if (write(FUZZ_FD_PIPE_W, "0123456789abcdef", FUZZ_PIPE_PRELOAD) < 0)
		die("write pipe");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		die("socketpair");
	place(s[0], FUZZ_FD_STREAM0);
	place(s[1], FUZZ_FD_STREAM1);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, s))
		die("socketpair");
	place(s[0], FUZZ_FD_DGRAM0);
	place(s[1], FUZZ_FD_DGRAM1);
	place(eventfd(1, 0), FUZZ_FD_EVENT);
	place(memfd_create("lua-fuzz", 0), FUZZ_FD_MEMFD);
	if (ftruncate(FUZZ_FD_MEMFD, 4096))
		die("ftruncate");
	place(open("/dev/null", O_RDWR), FUZZ_FD_NULL);
	place(open("/tmp/lua-fuzz-file", O_RDWR | O_CREAT | O_TRUNC, 0600), FUZZ_FD_FILE);
	place(epoll_create1(0), FUZZ_FD_EPOLL);
}

/* --- sysctls and fault injection ---------------------------------------- */

static void write_file(const char *path, unsigned long v)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%lu\n", v);
	if (write(fd, buf, n) != n && errno != EINVAL)
		perror(path);
	close(fd);
}

static void set_sysctl(const char *name, unsigned long v, unsigned long *cur)
{
	char path[96];

	if (!v || v == *cur)
		return;
	snprintf(path, sizeof(path), "/proc/sys/kernel/lua_syscall/%s", name);
	write_file(path, v);
	*cur = v;
}

static int nth_fd = -1;

/*
 * The time oracle: CPU time per instruction of budget, measured on a spin
 * loop when the worker starts.  A call that made no nested system call did
 * only interpreter and library work, which the budget must bound: more than
 * SLOW_FACTOR times the spin loop's time for its budget, plus SLOW_SLACK_NS,
 * is a finding (library work the budget does not charge).  Generous: under
 * TCG a vCPU the host preempts still counts as running.
 */
#define SLOW_FACTOR		50
#define SLOW_SLACK_NS		2000000000ULL
#define SPIN_BUDGET		200000UL
static double spin_ns_per_insn;
static unsigned long budget_now;

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* lua-nested-syscalls of a state, or -1 */
static long long nested_count(int fd)
{
	char path[64], buf[4096], *p;
	ssize_t n;
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
	p = strstr(buf, "lua-nested-syscalls:");
	return p ? strtoll(p + 20, NULL, 10) : -1;
}

/* Fail the nth fault-injection point of this thread's next system call. */
static void arm_nth(int nth)
{
	char buf[16];
	int n;

	if (nth <= 0 || nth_fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%d", nth);
	if (pwrite(nth_fd, buf, n, 0) < 0)
		perror("fail-nth");
}

/* 1 when the armed failure was injected, 0 when not, -1 when not armed. */
static int disarm_nth(int nth)
{
	char buf[16] = "";
	int fired;

	if (nth <= 0 || nth_fd < 0)
		return -1;
	if (pread(nth_fd, buf, sizeof(buf) - 1, 0) < 0)
		return -1;
	fired = atoi(buf) == 0;
	/* the read itself may have run the count down: then this write faults */
	if (pwrite(nth_fd, "0", 1, 0) < 0 && errno != EFAULT)
		perror("fail-nth");
	return fired;
}

/* --- running a program --------------------------------------------------- */

static void on_signal(int sig)
{
	(void)sig;	/* only to interrupt system calls */
}

/*
 * A SIGSEGV the kernel sends because it could not deliver another signal or
 * return from one (SI_KERNEL: an injected fault in the signal frame) must be
 * told from a fault of the worker itself (SEGV_MAPERR, ...): note which one
 * for the supervisor and die.
 */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	progress->segv_code = si->si_code;
	progress->segv_addr = (unsigned long)si->si_addr;
	_exit(SEGV_EXIT);
}

static void set_alarm(int ms)
{
	struct itimerval it = { .it_value = { ms / 1000, (ms % 1000) * 1000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static long ret_of(long r)
{
	return r == -1 ? -errno : r;
}

/* The script, ending where a hole begins: a length past it faults. */
static unsigned long place_script(const struct program *pr)
{
	size_t pages = (pr->len + 0xfff) / 0x1000 + 1;
	unsigned long start = FUZZ_SCRIPT_END - pages * 0x1000;
	static unsigned long mapped_start;

	if (mapped_start)
		munmap((void *)mapped_start, FUZZ_SCRIPT_END - mapped_start);
	map_fixed(start, pages * 0x1000, PROT_READ | PROT_WRITE);
	mapped_start = start;
	memcpy((void *)(FUZZ_SCRIPT_END - pr->len), pr->script, pr->len);
	return FUZZ_SCRIPT_END - pr->len;
}

static void read_state(int fd, int *info_ok)
{
	char path[64], buf[4096];
	int ifd;

	/* Both must work after anything a script did. */
	if (pread(fd, buf, sizeof(buf), 0) < 0)
		*info_ok = 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ifd = open(path, O_RDONLY);
	if (ifd < 0 || read(ifd, buf, sizeof(buf) - 1) <= 0 ||
	    !memmem(buf, sizeof(buf) - 1, "lua-invocations", 15))
		*info_ok = 0;
	if (ifd >= 0)
		close(ifd);
}

static void scan_kmsg(long id)
{
	static const char *const bad[] = {
		"BUG: ", "WARNING: ", "KASAN: ", "UBSAN: ", "Oops", "Kernel panic",
		"general protection fault", "possible circular locking",
		"possible recursive locking", "inconsistent lock state",
		"suspicious RCU usage", "blocked for more than", "soft lockup",
		"stack-protector: ", "Call Trace:",
	};
	char rec[2048];
	ssize_t n;
	size_t i;

	for (;;) {
		n = read(KMSG_FD, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: read on */
		if (n <= 0)
			return;
		rec[n] = '\0';
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (strstr(rec, bad[i])) {
				char *msg = strchr(rec, ';');

				msg = msg ? msg + 1 : rec;
				msg[strcspn(msg, "\n")] = '\0';
				emit("K %ld %s\n", id, msg);
				break;
			}
		}
	}
}

/* Register the script and call it; what they return goes to res. */
static void do_calls(const struct program *pr, const struct params *pa,
		     unsigned long script, struct results *res)
{
	uint64_t args[LUA_SYSCALL_MAX_ARGS];
	long long nested;
	long reg, r, nargs;
	uint64_t cpu;
	int i, f;
	void *argp;

	if (pa->alarm_ms)
		set_alarm(pa->alarm_ms);
	arm_nth(pa->nth_reg);
	res->in_lua = 1;
	reg = ret_of(register_script((const char *)script,
				     pa->reg_len < 0 ? pr->len : (size_t)pa->reg_len,
				     pa->reg_flags));
	res->in_lua = 0;
	f = disarm_nth(pa->nth_reg);
	if (f >= 0)
		res->fired = f;
	set_alarm(0);
	res->reg = reg;
	res->reg_done = 1;

	for (i = 0; reg >= 0 && i < pa->calls; i++) {
		int k;

		for (k = 0; k < pa->nargs_given; k++)
			args[k] = strcmp(pa->args[k], FUZZ_ARG_SELF) ? strtoull(pa->args[k], NULL, 0)
								       : (uint64_t)reg;
		nargs = pa->nargs < 0 ? pa->nargs_given : pa->nargs;
		argp = pa->args_ptr == 1 ? NULL :
		       pa->args_ptr == 2 ? (void *)FUZZ_HOLE : (void *)args;
		/* A count beyond the array: the kernel reads into our stack or faults. */
		if (nargs > LUA_SYSCALL_MAX_ARGS && pa->args_ptr == 0)
			argp = (void *)(FUZZ_HOLE - 8);
		/*
		 * Timed unless a seccomp filter may trap the reads of fdinfo, or
		 * a fault is injected; read before the alarm is set, which may
		 * be 1 ms away and must end the call, not this read.
		 */
		nested = res != child_res && !pa->nth_call ? nested_count(reg) : -1;
		if (pa->alarm_ms)
			set_alarm(pa->alarm_ms);
		arm_nth(pa->nth_call);
		res->in_lua = 1;
		cpu = thread_cpu_ns();
		r = ret_of(syscall(__NR_lua_syscall, (int)reg, argp, nargs, pa->call_flags));
		cpu = thread_cpu_ns() - cpu;
		res->in_lua = 0;
		f = disarm_nth(pa->nth_call);
		if (!res->slow[0] && spin_ns_per_insn > 0 && budget_now && nested >= 0 &&
		    nested_count(reg) == nested &&
		    cpu > SLOW_FACTOR * spin_ns_per_insn * budget_now + SLOW_SLACK_NS)
			snprintf(res->slow, sizeof(res->slow),
				 "call %d: %llu ms of CPU without a nested call, budget %lu "
				 "(spin loop: %.0f ms)", i, (unsigned long long)(cpu / 1000000),
				 budget_now, spin_ns_per_insn * budget_now / 1e6);
		if (f >= 0)
			res->fired = res->fired > 0 ? res->fired : f;
		set_alarm(0);
		res->calls[i] = r;
		res->ncalls = i + 1;
	}
}

/* --- seccomp programs ----------------------------------------------------- */

static const char *describe(int status, char *buf, size_t n);

static const char *action_name(unsigned int act)
{
	switch (act & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_KILL_PROCESS:	return "KILL_PROCESS";
	case SECCOMP_RET_KILL_THREAD:	return "KILL_THREAD";
	case SECCOMP_RET_TRAP:		return "TRAP";
	case SECCOMP_RET_ERRNO:		return "ERRNO";
	case SECCOMP_RET_USER_NOTIF:	return "USER_NOTIF";
	case SECCOMP_RET_TRACE:		return "TRACE";
	case SECCOMP_RET_LOG:		return "LOG";
	case SECCOMP_RET_ALLOW:		return "ALLOW";
	}
	return "?";
}

static int is_kill(unsigned int act)
{
	act &= SECCOMP_RET_ACTION_FULL;
	return act == SECCOMP_RET_KILL_PROCESS || act == SECCOMP_RET_KILL_THREAD;
}

/* The child makes no direct call the filter catches: a SIGSYS is for a nested one. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	child_res->sigsys++;
	child_res->sigsys_nr = si->si_syscall;
	child_res->sigsys_in_lua = child_res->in_lua;
}

/* act for system call nr, everything else allowed; the listener fd or -errno. */
static int install_filter(unsigned int nr, unsigned int act)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, act),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(insns) / sizeof(insns[0]), insns };
	unsigned int flags = (act & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF ?
			     SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
	long r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	return r < 0 ? -errno : (int)r;
}

static void seccomp_child(const struct program *pr, const struct params *pa,
			  unsigned long script, pid_t parent)
{
	struct sigaction sys = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	int r;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(3);
	sigaction(SIGSYS, &sys, NULL);
	/* Our own fail-nth: the worker's fd 0 is the worker's. */
	nth_fd = -1;
	if (pa->nth_reg > 0 || pa->nth_call > 0) {
		nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
		child_res->nth_fd = nth_fd;
	}
	r = install_filter(pa->seccomp_nr, pa->seccomp_act);
	if (r < 0) {
		child_res->filter_err = -r;
		_exit(4);
	}
	if (r > 0)
		child_res->listener = r;
	/* From here on, only the two calls, setitimer, pread/pwrite and exit_group. */
	do_calls(pr, pa, script, child_res);
	_exit(0);
}

/* Answer one notification: an errno, a value, CONTINUE, in turn. */
static void answer_notification(int listener, unsigned int *turn)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	struct pollfd pfd = { listener, POLLIN, 0 };

	if (poll(&pfd, 1, 10) <= 0 || !(pfd.revents & POLLIN))
		return;
	memset(&req, 0, sizeof(req));
	/* The notifier may have gone since the poll: do not block for ever. */
	set_alarm(200);
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req)) {
		set_alarm(0);
		return;
	}
	set_alarm(0);
	memset(&resp, 0, sizeof(resp));
	resp.id = req.id;
	switch ((*turn)++ % 3) {
	case 0:
		resp.error = -EL2NSYNC;
		break;
	case 1:
		resp.val = 4242;
		break;
	default:
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		break;
	}
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

/* Run the calls in a child under the program's filter; 0, or a finding in what. */
static int run_seccomp(const struct program *pr, const struct params *pa,
		       unsigned long script, char *what, size_t n)
{
	unsigned int turn = 0;
	int status = 0, expected_kill = is_kill(pa->seccomp_act);
	char how[128];
	pid_t pid, parent = getpid();

	memset(child_res, 0, sizeof(*child_res));
	child_res->fired = -1;
	child_res->listener = -1;
	child_res->nth_fd = -1;
	progress->segv_code = 0;
	/* fork() sharing our fd table: the state's fd outlives the child. */
	pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0)
		die("clone");
	if (pid == 0)
		seccomp_child(pr, pa, script, parent);
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (child_res->listener >= 0)
			answer_notification(child_res->listener, &turn);
		else
			usleep(2000);
	}
	if (child_res->listener >= 0)
		close(child_res->listener);
	if (child_res->nth_fd >= 0)
		close(child_res->nth_fd);
	what[0] = '\0';
	if (child_res->filter_err)
		snprintf(what, n, "seccomp filter (%s on nr %ld) refused: %s",
			 action_name(pa->seccomp_act), pa->seccomp_nr,
			 strerror(child_res->filter_err));
	else if (child_res->sigsys)
		snprintf(what, n, "seccomp %s on nr %ld: %d SIGSYS caught for nested call "
			 "nr %d%s", action_name(pa->seccomp_act), pa->seccomp_nr,
			 child_res->sigsys, child_res->sigsys_nr,
			 child_res->sigsys_in_lua ? " (on return from our call)" : "");
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS && expected_kill)
		return 0;
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		snprintf(what, n, "seccomp %s on nr %ld: child killed by SIGSYS",
			 action_name(pa->seccomp_act), pa->seccomp_nr);
	else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		snprintf(what, n, "seccomp %s on nr %ld: child %s",
			 action_name(pa->seccomp_act), pa->seccomp_nr,
			 describe(status, how, sizeof(how)));
	return what[0] != '\0';
}

static void run_program(const struct program *pr, unsigned long *mem_cur,
			unsigned long *insn_cur)
{
	struct results local, *res = &local;
	char line[512], what[256];
	struct params pa;
	unsigned long script;
	sigset_t none;
	int i, info_ok = 1, off, finding = 0;

	parse_params(pr, &pa);
	/* A script may have blocked SIGUSR1/2 for good: not for the next one. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	reset_memory();
	reset_fds();
	set_sysctl("mem_limit", pa.mem_limit, mem_cur);
	set_sysctl("insn_limit", pa.insn_limit, insn_cur);
	budget_now = *insn_cur;
	script = place_script(pr);
	if (pa.reg_ptr == 1)
		script = 0;
	else if (pa.reg_ptr == 2)
		script = 0xffffffff81000000UL;

	if (pa.seccomp_nr >= 0) {
		res = child_res;
		finding = run_seccomp(pr, &pa, script, what, sizeof(what));
	} else {
		memset(&local, 0, sizeof(local));
		local.fired = -1;
		local.slow[0] = '\0';
		do_calls(pr, &pa, script, &local);
	}
	/* A seccomp kill inside the registration: no fd, no errno. */
	if (res->reg_done)
		off = snprintf(line, sizeof(line), "R %ld reg=%ld calls=", pr->id, res->reg);
	else
		off = snprintf(line, sizeof(line), "R %ld killed=1 calls=", pr->id);
	for (i = 0; i < res->ncalls && off < (int)sizeof(line) - 64; i++)
		off += snprintf(line + off, sizeof(line) - off, "%s%ld", i ? "," : "",
				res->calls[i]);
	if (res->reg_done && res->reg >= 0) {
		read_state(res->reg, &info_ok);
		close(res->reg);
	}
	off += snprintf(line + off, sizeof(line) - off, " nth=%d info=%d", res->fired, info_ok);
	if (pa.seccomp_nr >= 0)
		snprintf(line + off, sizeof(line) - off, " seccomp=%s/%ld",
			 action_name(pa.seccomp_act), pa.seccomp_nr);
	emit("%s\n", line);
	if (finding)
		emit("C %ld %s\n", pr->id, what);
	if (res->slow[0])
		emit("T %ld %s\n", pr->id, res->slow);
	scan_kmsg(pr->id);
}

/* The spin loop's CPU time per instruction of budget, for the time oracle. */
static void calibrate_spin(unsigned long *insn_cur)
{
	static const char spin[] = "return function() while true do end end";
	uint64_t cpu;
	long fd;

	set_sysctl("insn_limit", SPIN_BUDGET, insn_cur);
	fd = register_script(spin, sizeof(spin) - 1, 0);
	if (fd < 0)
		return;
	cpu = thread_cpu_ns();
	syscall(__NR_lua_syscall, (int)fd, NULL, 0, 0);
	cpu = thread_cpu_ns() - cpu;
	close(fd);
	spin_ns_per_insn = (double)cpu / SPIN_BUDGET;
}

static void worker(long first)
{
	unsigned long mem_cur = 0, insn_cur = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	struct sigaction segv = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	long i;

	sigaction(SIGSEGV, &segv, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	calibrate_spin(&insn_cur);
	/* On stdin's number, below the reach of reset_fds()'s close_range(). */
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (nth_fd > 0) {
		if (dup2(nth_fd, 0) < 0)
			die("dup2 fail-nth");
		close(nth_fd);
		nth_fd = 0;
	}
	for (i = first; i < nprogs && i < first + WORKER_BATCH; i++) {
		if (deadline && time(NULL) >= deadline)
			break;
		progress->index = i;
		progress->started = time(NULL);
		run_program(&progs[i], &mem_cur, &insn_cur);
		progress->done = i + 1;
	}
	exit(0);
}

static const char *describe(int status, char *buf, size_t n)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == SEGV_EXIT)
		snprintf(buf, n, "SIGSEGV %s (si_code %d, address %#lx)",
			 progress->segv_code == SI_KERNEL ? "from the kernel" : "in user space",
			 progress->segv_code, progress->segv_addr);
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
	return buf;
}

int main(int argc, char **argv)
{
	time_t started = time(NULL);
	long next = 0;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: %s CORPUS RESULTS [SECONDS [K/N]]\n", argv[0]);
		return 2;
	}
	load_corpus(argv[1]);
	if (argc > 3 && atol(argv[3]) > 0)
		deadline = time(NULL) + atol(argv[3]);
	if (argc > 4) {
		long k = atol(argv[4]), n = atol(strchr(argv[4], '/') ? strchr(argv[4], '/') + 1
								      : "1"), i, kept = 0;

		for (i = 0; n > 0 && i < nprogs; i++)
			if (i % n == k)
				progs[kept++] = progs[i];
		nprogs = kept;
	}
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0 || dup2(fd, RESULTS_FD) < 0)
		die(argv[2]);
	if (fd != RESULTS_FD)
		close(fd);
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (fd < 0 || dup2(fd, KMSG_FD) < 0)
		die("/dev/kmsg");
	if (fd != KMSG_FD)
		close(fd);
	lseek(KMSG_FD, 0, SEEK_END);
	progress = mmap(NULL, sizeof(*progress), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (progress == MAP_FAILED)
		die("mmap");
	child_res = mmap(NULL, sizeof(*child_res), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (child_res == MAP_FAILED)
		die("mmap");
	/* The supervisor keeps out of the workers' way, and out of their kills. */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "lua_fuzz_exec: %ld programs\n", nprogs);

	while (next < nprogs && !(deadline && time(NULL) >= deadline)) {
		int status = 0;
		char how[128];
		pid_t pid, w;

		progress->index = next;
		progress->done = next;
		progress->started = time(NULL);
		progress->segv_code = 0;
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0)
			worker(next);
		for (;;) {
			w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				break;
			if (time(NULL) - progress->started > WATCHDOG_S &&
			    progress->done <= progress->index) {
				emit("C %ld hung for %ds: killed\n", progs[progress->index].id,
				     WATCHDOG_S);
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				status = 0;	/* already reported */
				progress->done = progress->index + 1;
				break;
			}
			usleep(20000);
		}
		if (status && progress->done <= progress->index) {
			emit("C %ld worker %s\n", progs[progress->index].id,
			     describe(status, how, sizeof(how)));
			progress->done = progress->index + 1;
		}
		next = progress->done;
		fprintf(stderr, "lua_fuzz_exec: %ld/%ld programs run in %lds\n", next, nprogs,
			(long)(time(NULL) - started));
	}
	return 0;
}
