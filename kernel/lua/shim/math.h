/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * <math.h> for the Lua core: the integer versions of what it names outside
 * code that luaconf.h turns off.
 */
#ifndef _LUAK_MATH_H
#define _LUAK_MATH_H

#include <linux/limits.h>

#define HUGE_VAL	LLONG_MAX

/* x * 2^e, for lcode.c's keys of integral "float" constants */
static inline long long luak_ldexp(long long x, int e)
{
	if (e >= 64 || e <= -64)
		return 0;
	if (e >= 0)
		return (long long)((unsigned long long)x << e);
	return x >> -e;
}

#define ldexp(x, e)	luak_ldexp((long long)(x), (e))

#endif
