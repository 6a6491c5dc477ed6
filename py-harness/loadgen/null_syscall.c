// SPDX-License-Identifier: GPL-2.0
/*
 * null_syscall: the cost of one user/kernel crossing on the machine it runs on, as
 * one JSON object: getppid() in a loop, best of -r rounds of -n calls, ns per call.
 * Needs nothing of lua_syscall, so the harness runs it on the host (outside the
 * guest) as the crossing cost of the bench's hardware projection.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long iterations = 1000000;
	int rounds = 5, opt;
	double best = 1e18, empty = 1e18;

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			iterations = atol(optarg);
		else if (opt == 'r')
			rounds = atoi(optarg);
		else
			return 2;
	}
	if (iterations < 1 || rounds < 1)
		return 2;
	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = now_ns();
		double ns;

		for (long i = 0; i < iterations; i++)
			syscall(SYS_getppid);
		ns = (double)(now_ns() - t0) / iterations;
		if (ns < best)
			best = ns;
		/* the same loop without the call (the compiler must keep it) */
		t0 = now_ns();
		for (long i = 0; i < iterations; i++)
			__asm__ volatile("" ::: "memory");
		ns = (double)(now_ns() - t0) / iterations;
		if (ns < empty)
			empty = ns;
	}
	printf("{\"iterations\": %ld, \"rounds\": %d, \"null_syscall_ns\": %.1f, "
	       "\"empty_loop_ns\": %.2f}\n", iterations, rounds, best, empty);
	return 0;
}
