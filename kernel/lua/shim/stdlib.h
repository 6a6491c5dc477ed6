/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* <stdlib.h> for the Lua core. */
#ifndef _LUAK_STDLIB_H
#define _LUAK_STDLIB_H

#include <linux/bug.h>
#include <linux/compiler.h>
#include <linux/math.h>
#include <linux/stddef.h>

/*
 * lauxlib's default allocator serves luaL_newstate(), which the kernel
 * does not support: it always fails.  Use lua_runtime_create().
 */
#define realloc(p, size)	((void)(p), (void)(size), NULL)
#define free(p)			((void)(p))

/* abort() is the kernel's (<linux/panic.h>): BUG(). */

#endif
