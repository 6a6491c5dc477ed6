// SPDX-License-Identifier: GPL-2.0-only
/*
 * The C library for the kernel side of the replica. Kernel code keeps the stack 8-byte
 * aligned and does not set %al for variadic calls (-mpreferred-stack-boundary=3,
 * -mskip-rax-setup); these entry points realign the stack (built with -mstackrealign)
 * before the C library sees it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void *nc_glue_malloc(size_t size);
void *nc_glue_realloc(void *p, size_t size);
void nc_glue_free(void *p);
int nc_glue_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void nc_glue_vprint(const char *fmt, va_list ap);
void nc_unreachable(const char *what) __attribute__((noreturn));

void *nc_glue_malloc(size_t size)
{
	return malloc(size ? size : 1);
}

void *nc_glue_realloc(void *p, size_t size)
{
	return realloc(p, size ? size : 1);
}

void nc_glue_free(void *p)
{
	free(p);
}

int nc_glue_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return vsnprintf(buf, size, fmt, ap);
}

void nc_glue_vprint(const char *fmt, va_list ap)
{
	fputs("native-clock: kernel says: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* The generated stubs of kernel functions the replica does not provide jump here. */
void nc_unreachable(const char *what)
{
	fprintf(stderr, "native-clock: the replica reached %s, which it does not provide\n",
		what);
	abort();
}
