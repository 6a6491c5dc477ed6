/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * <ctype.h> for the Lua libraries: the C locale, ASCII only.  The kernel's
 * <linux/ctype.h> classifies Latin-1, which would change what the pattern
 * classes of the string library match.
 */
#ifndef _LUAK_CTYPE_H
#define _LUAK_CTYPE_H

#include <linux/ctype.h>

static inline int luak_isupper(int c)
{
	return c >= 'A' && c <= 'Z';
}

static inline int luak_islower(int c)
{
	return c >= 'a' && c <= 'z';
}

static inline int luak_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int luak_isalpha(int c)
{
	return luak_isupper(c) || luak_islower(c);
}

static inline int luak_isalnum(int c)
{
	return luak_isalpha(c) || luak_isdigit(c);
}

static inline int luak_isxdigit(int c)
{
	return luak_isdigit(c) || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static inline int luak_isspace(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline int luak_iscntrl(int c)
{
	return (c >= 0 && c < 0x20) || c == 0x7f;
}

static inline int luak_isgraph(int c)
{
	return c > 0x20 && c < 0x7f;
}

static inline int luak_isprint(int c)
{
	return c >= 0x20 && c < 0x7f;
}

static inline int luak_ispunct(int c)
{
	return luak_isgraph(c) && !luak_isalnum(c);
}

static inline int luak_tolower(int c)
{
	return luak_isupper(c) ? c - 'A' + 'a' : c;
}

static inline int luak_toupper(int c)
{
	return luak_islower(c) ? c - 'a' + 'A' : c;
}

#undef isalnum
#undef isalpha
#undef iscntrl
#undef isdigit
#undef isgraph
#undef islower
#undef isprint
#undef ispunct
#undef isspace
#undef isupper
#undef isxdigit
#undef tolower
#undef toupper
#define isalnum(c)	luak_isalnum(c)
#define isalpha(c)	luak_isalpha(c)
#define iscntrl(c)	luak_iscntrl(c)
#define isdigit(c)	luak_isdigit(c)
#define isgraph(c)	luak_isgraph(c)
#define islower(c)	luak_islower(c)
#define isprint(c)	luak_isprint(c)
#define ispunct(c)	luak_ispunct(c)
#define isspace(c)	luak_isspace(c)
#define isupper(c)	luak_isupper(c)
#define isxdigit(c)	luak_isxdigit(c)
#define tolower(c)	luak_tolower(c)
#define toupper(c)	luak_toupper(c)

#endif
