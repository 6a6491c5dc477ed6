/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* <limits.h> for the Lua core. */
#ifndef _LUAK_LIMITS_H
#define _LUAK_LIMITS_H

#include <linux/limits.h>

/* Lua tests UINT_MAX in #if, where the kernel's ~0U is 64 bits wide */
#undef UINT_MAX
#define UINT_MAX	0xffffffffU

#ifndef CHAR_BIT
#define CHAR_BIT	8
#endif
#ifndef UCHAR_MAX
#define UCHAR_MAX	((unsigned char)~0U)
#endif

#endif
