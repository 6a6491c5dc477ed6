// SPDX-License-Identifier: GPL-2.0
/*
 * tsc_khz: the host's TSC frequency, measured against CLOCK_MONOTONIC over 300 ms.
 * Under QEMU TCG the guest's RDTSC reads the host's TSC, but the guest cannot
 * calibrate it (no HPET or PM timer in a tinyconfig kernel, PIT too slow under
 * emulation) and falls back to jiffies; the benchmark boots the guest with
 * tsc_early_khz=<this> so its clock has sub-microsecond resolution.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(void)
{
	uint64_t t0 = now_ns(), c0 = __rdtsc(), t1, c1;
	struct timespec pause = { 0, 300000000 };

	nanosleep(&pause, NULL);
	t1 = now_ns();
	c1 = __rdtsc();
	printf("%llu\n", (unsigned long long)((c1 - c0) * 1000000ull / (t1 - t0)));
	return 0;
}
