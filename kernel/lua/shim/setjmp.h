/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* <setjmp.h> for the Lua core: the arch helpers, see luaconf.h. */
#ifndef _LUAK_SETJMP_H
#define _LUAK_SETJMP_H

#include <asm/lua_setjmp.h>

#endif
