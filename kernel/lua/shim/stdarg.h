/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* <stdarg.h> for the Lua core. */
#ifndef _LUAK_STDARG_H
#define _LUAK_STDARG_H

#include <linux/stdarg.h>

#endif
