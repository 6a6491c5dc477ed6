/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* <locale.h> for the Lua core: the C locale only, see luaconf.h. */
#ifndef _LUAK_LOCALE_H
#define _LUAK_LOCALE_H
#endif
