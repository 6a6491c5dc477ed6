/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* <stddef.h> for the Lua core. */
#ifndef _LUAK_STDDEF_H
#define _LUAK_STDDEF_H

#include <linux/stddef.h>
#include <linux/types.h>

#endif
