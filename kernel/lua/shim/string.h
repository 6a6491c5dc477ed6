/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* <string.h> for the Lua core. */
#ifndef _LUAK_STRING_H
#define _LUAK_STRING_H

#include <linux/string.h>

/* The C locale collates by byte value. */
#define strcoll(a, b)		strcmp(a, b)
#define strerror(e)		((void)(e), "not supported")

#endif
