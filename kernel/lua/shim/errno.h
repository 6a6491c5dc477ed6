/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* <errno.h> for the Lua libraries: there is no errno in the kernel. */
#ifndef _LUAK_ERRNO_H
#define _LUAK_ERRNO_H

#include <linux/errno.h>

#define errno	0

#endif
