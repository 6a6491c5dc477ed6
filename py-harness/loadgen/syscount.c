// SPDX-License-Identifier: GPL-2.0
/*
 * syscount PID: count the user/kernel crossings of every thread of PID with perf
 * counters on the raw_syscalls:sys_enter tracepoint (all, and per syscall number
 * of interest, through tracepoint filters), plus the nested calls lua_syscall
 * scripts make (lua_syscall:lua_syscall_nested).  Nested calls hit
 * raw_syscalls:sys_enter too: crossings are "syscalls" minus "lua_nested".
 * "task_clock_ns" is the threads' time on a CPU (perf's task clock: exact, where
 * /proc's utime + stime are tick-sampled).  Counting starts when it prints
 * "ready"; it stops and prints one JSON object when stdin reaches EOF.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TRACEFS "/sys/kernel/tracing/events/"
#define MAX_FDS 1024

struct counter {
	const char *name;
	const char *event;   /* tracefs event dir; NULL: the software task clock */
	const char *filter;  /* tracepoint filter, or NULL */
};

static const struct counter counters[] = {
	{ "syscalls", "raw_syscalls/sys_enter", NULL },
	{ "lua_syscall", "raw_syscalls/sys_enter", "id == 464" },
	{ "recvmmsg", "raw_syscalls/sys_enter", "id == 299" },
	{ "sendmmsg", "raw_syscalls/sys_enter", "id == 307" },
	{ "recvfrom", "raw_syscalls/sys_enter", "id == 45" },
	{ "sendmsg", "raw_syscalls/sys_enter", "id == 46" },
	{ "epoll_wait", "raw_syscalls/sys_enter", "id == 232 || id == 281 || id == 441" },
	{ "io_uring_enter", "raw_syscalls/sys_enter", "id == 426" },
	{ "lua_nested", "lua_syscall/lua_syscall_nested", NULL },
	/* ns on a CPU, exactly (not tick-sampled): under icount, instructions */
	{ "task_clock_ns", NULL, NULL },
};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))

static long tracepoint_id(const char *event)
{
	char path[256];
	long id = -1;
	FILE *f;

	snprintf(path, sizeof(path), TRACEFS "%s/id", event);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &id) != 1)
		id = -1;
	fclose(f);
	return id;
}

int main(int argc, char **argv)
{
	static int fds[NCOUNTERS][MAX_FDS];
	int nfds[NCOUNTERS] = { 0 }, threads = 0;
	char taskdir[64], buf[64];
	struct dirent *de;
	DIR *d;

	if (argc != 2) {
		fprintf(stderr, "usage: syscount PID  (stop with EOF on stdin)\n");
		return 2;
	}
	snprintf(taskdir, sizeof(taskdir), "/proc/%s/task", argv[1]);
	d = opendir(taskdir);
	if (!d) {
		perror(taskdir);
		return 2;
	}
	while ((de = readdir(d))) {
		int tid = atoi(de->d_name);

		if (tid <= 0)
			continue;
		threads++;
		for (size_t c = 0; c < NCOUNTERS; c++) {
			struct perf_event_attr attr = {
				.type = counters[c].event ? PERF_TYPE_TRACEPOINT : PERF_TYPE_SOFTWARE,
				.size = sizeof(attr),
				.config = counters[c].event ? tracepoint_id(counters[c].event)
					: PERF_COUNT_SW_TASK_CLOCK,
			};
			int fd;

			if ((long)attr.config < 0 || nfds[c] == MAX_FDS)
				continue;
			fd = syscall(__NR_perf_event_open, &attr, tid, -1, -1, 0);
			if (fd < 0) {
				fprintf(stderr, "perf_event_open %s tid %d: %s\n", counters[c].name, tid,
					strerror(errno));
				continue;
			}
			if (counters[c].filter &&
			    ioctl(fd, PERF_EVENT_IOC_SET_FILTER, counters[c].filter) < 0) {
				fprintf(stderr, "filter %s: %s\n", counters[c].filter, strerror(errno));
				close(fd);
				continue;
			}
			fds[c][nfds[c]++] = fd;
		}
	}
	closedir(d);
	printf("ready\n");
	fflush(stdout);
	while (fread(buf, 1, sizeof(buf), stdin) > 0)
		;
	printf("{\"threads\": %d", threads);
	for (size_t c = 0; c < NCOUNTERS; c++) {
		uint64_t total = 0, v;

		for (int i = 0; i < nfds[c]; i++)
			if (read(fds[c][i], &v, sizeof(v)) == sizeof(v))
				total += v;
		if (nfds[c])
			printf(", \"%s\": %llu", counters[c].name, (unsigned long long)total);
		else
			printf(", \"%s\": null", counters[c].name);
	}
	printf("}\n");
	return 0;
}
