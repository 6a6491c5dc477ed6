/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* <assert.h> for the Lua core: lua_assert() is off unless LUAI_ASSERT. */
#ifndef _LUAK_ASSERT_H
#define _LUAK_ASSERT_H

#define assert(e)	((void)sizeof(e))

#endif
