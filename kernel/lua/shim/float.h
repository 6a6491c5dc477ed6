/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * <float.h> for the Lua core: there are no floating-point types.  The
 * attributes of Lua's "float" type are set by l_floatatt() in luaconf.h.
 */
#ifndef _LUAK_FLOAT_H
#define _LUAK_FLOAT_H
#endif
