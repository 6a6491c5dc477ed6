/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* <string.h> for the Lua core. */
#ifndef _LUAK_STRING_H
#define _LUAK_STRING_H

#include <linux/string.h>

#define strerror(e)		((void)(e), "not supported")

/*
 * The byte loops of the core and the libraries (string comparison, plain
 * string.find) run inside one VM instruction or library call: charge them
 * to the instruction budget by the bytes they touch (luaconf.h declares them,
 * lua_runtime.c defines them).
 * strcoll() collates by byte value, as the C locale does.
 */
#define memcmp(a, b, n)		luak_memcmp(a, b, n)
#define memchr(s, c, n)		luak_memchr(s, c, n)
#define strpbrk(s, accept)	luak_strpbrk(s, accept)
#define strcoll(a, b)		luak_strcoll(a, b)

#endif
