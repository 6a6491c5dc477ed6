// SPDX-License-Identifier: GPL-2.0
/*
 * syscall_micro: the fixed costs behind the memcached numbers, as one JSON object.
 *
 *   null_syscall      getppid()
 *   null_lua          lua_syscall() of an entry that does nothing
 *   getppid_direct_N  N getppid() calls from user space
 *   getppid_lua_N     one lua_syscall() making N sys.getppid() calls
 *   mem_get64 / mem_put64   per access, inside a 64-access script loop,
 *                     minus the same loop without the access
 *
 * Each figure is the best of -r rounds of -n iterations, in ns per operation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "lua_syscall_user.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static long iterations = 5000;
static int rounds = 3;

static int must_register(const char *script)
{
	int fd = register_lua_syscall(script);

	if (fd < 0) {
		perror("register_lua_syscall");
		exit(1);
	}
	return fd;
}

/* best-of-rounds ns per call of one lua_syscall(fd, args) */
static double time_lua(int fd, const uint64_t *args, unsigned int nargs)
{
	double best = 1e18;

	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < iterations; i++)
			if (lua_syscall(fd, args, nargs) < 0) {
				perror("lua_syscall");
				exit(1);
			}
		double ns = (double)(now_ns() - t0) / iterations;

		if (ns < best)
			best = ns;
	}
	return best;
}

static double time_getppid(int n)
{
	double best = 1e18;

	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < iterations; i++)
			for (int k = 0; k < n; k++)
				syscall(SYS_getppid);
		double ns = (double)(now_ns() - t0) / iterations;

		if (ns < best)
			best = ns;
	}
	return best;
}

int main(int argc, char **argv)
{
	static const int ns[] = { 1, 4, 16, 64 };
	static uint64_t cell;
	int opt, null_fd, loop_fd, empty_fd, get_fd, put_fd;
	double null_sys, null_lua, empty, get, put;

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			iterations = atol(optarg);
		else if (opt == 'r')
			rounds = atoi(optarg);
		else
			return 2;
	}
	null_fd = must_register("return function() end");
	loop_fd = must_register("local g = sys.getppid\n"
				"return function(n) for i = 1, n do g() end end");
	empty_fd = must_register("return function(a, n) local x = 0\n"
				 "for i = 1, n do x = x + a end end");
	get_fd = must_register("local get = mem.get64\n"
			       "return function(a, n) local x = 0\n"
			       "for i = 1, n do x = x + get(a) end end");
	put_fd = must_register("local put = mem.put64\n"
			       "return function(a, n) for i = 1, n do put(a, i) end end");

	null_sys = time_getppid(1);
	null_lua = time_lua(null_fd, NULL, 0);
	printf("{\"iterations\": %ld, \"rounds\": %d, \"null_syscall_ns\": %.1f, "
	       "\"null_lua_syscall_ns\": %.1f", iterations, rounds, null_sys, null_lua);
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		uint64_t args[1] = { ns[i] };

		printf(", \"getppid_direct_%d_ns\": %.1f, \"getppid_lua_%d_ns\": %.1f",
		       ns[i], time_getppid(ns[i]), ns[i], time_lua(loop_fd, args, 1));
	}
	{
		uint64_t args[2] = { (uintptr_t)&cell, 64 };

		empty = time_lua(empty_fd, args, 2);
		get = time_lua(get_fd, args, 2);
		put = time_lua(put_fd, args, 2);
	}
	printf(", \"lua_loop64_ns\": %.1f, \"mem_get64_ns\": %.1f, \"mem_put64_ns\": %.1f}\n",
	       empty, (get - empty) / 64, (put - empty) / 64);
	return 0;
}
