/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* <errno.h> for the Lua libraries: there is no errno in the kernel. */
#ifndef _LUAK_ERRNO_H
#define _LUAK_ERRNO_H

#include <linux/errno.h>

/*
 * Always 0, but an lvalue: lauxlib.c clears it before the file calls its
 * luaL_loadfilex() makes (there are no files in the kernel either).  Each
 * use is a fresh compound literal, so nothing is shared between tasks.
 */
#define errno	(((int []){ 0 })[0])

#endif
