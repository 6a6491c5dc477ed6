/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * <stdio.h> for the Lua core: formatting only.  There are no files: the
 * stubs below make luaL_loadfilex() fail, and nothing in the kernel calls
 * it.
 */
#ifndef _LUAK_STDIO_H
#define _LUAK_STDIO_H

#include <linux/sprintf.h>
#include <linux/stddef.h>
#include <linux/types.h>

#define EOF		(-1)
#define BUFSIZ		64

typedef struct luak_file FILE;

#define stdin		((FILE *)NULL)
#define stdout		((FILE *)NULL)
#define stderr		((FILE *)NULL)

static inline FILE *luak_fopen(const char *name, const char *mode)
{
	return NULL;
}

static inline int luak_getc(FILE *f)
{
	return EOF;
}

static inline size_t luak_fread(void *p, size_t size, size_t n, FILE *f)
{
	return 0;
}

static inline int luak_ferror(FILE *f)
{
	return 1;
}

static inline int luak_fclose(FILE *f)
{
	return 0;
}

#define fopen(name, mode)		luak_fopen(name, mode)
#define freopen(name, mode, f)		((void)(f), luak_fopen(name, mode))
#define getc(f)				luak_getc(f)
#define fread(p, size, n, f)		luak_fread(p, size, n, f)
#define ferror(f)			luak_ferror(f)
#define feof(f)				((void)(f), 1)
#define fclose(f)			luak_fclose(f)

#endif
