/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the lua_syscall selftests, on top of the library that
 * applications use (tools/lib/lua_syscall).
 *
 * Every test starts with lua_syscall_supported() and skips, rather than
 * fails, on a kernel without the syscalls (ENOSYS).
 */
#ifndef __LUA_SYSCALL_UTIL_H
#define __LUA_SYSCALL_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/types.h>

#include "lua_syscall.h"

#ifndef __NR_register_lua_syscall
#define __NR_register_lua_syscall	463
#endif
#ifndef __NR_lua_syscall
#define __NR_lua_syscall		464
#endif

#define LUA_SYSCTL_DIR		"/proc/sys/kernel/lua_syscall/"
#define LUA_NOT_SUPPORTED	"lua_syscall() is not supported"
#define LUA_STATE_LINK		"anon_inode:[luastate]"

/* Far past the end of user space on every 64-bit architecture. */
#define LUA_KERNEL_ADDR		((void *)(uintptr_t)0xffffffff81000000ULL)

/* The system call itself, for the tests of its ABI. */
static inline int sys_register_lua_syscall_raw(const void *reg, size_t size)
{
	return syscall(__NR_register_lua_syscall, reg, size);
}

static inline int sys_register_lua_syscall(const void *script, size_t len,
					   unsigned int flags)
{
	struct lua_syscall_opts opts = {
		.sz = sizeof(opts), .flags = flags,
	};

	return lua_syscall_register(script, len, &opts);
}

static inline long sys_lua_syscall(int fd, const __u64 *args,
				   unsigned int nargs, unsigned int flags)
{
	return syscall(__NR_lua_syscall, fd, args, nargs, flags);
}

static inline int lua_register(const char *script)
{
	return sys_register_lua_syscall(script, strlen(script), 0);
}

static inline long lua_call0(int fd)
{
	return sys_lua_syscall(fd, NULL, 0, 0);
}

static inline long lua_call1(int fd, __u64 a)
{
	return sys_lua_syscall(fd, &a, 1, 0);
}

static inline long lua_call2(int fd, __u64 a, __u64 b)
{
	__u64 args[2] = { a, b };

	return sys_lua_syscall(fd, args, 2, 0);
}

/* The errno of a failed call, 0 if it did not fail. */
static inline int lua_errno(long ret)
{
	return ret == -1 ? errno : 0;
}

/* The last error text of a state, NUL-terminated; its length or -1. */
static inline ssize_t lua_last_error(int fd, char *buf, size_t size)
{
	return lua_syscall_last_error(fd, buf, size);
}

/* The value of "key:" in /proc/self/fdinfo/<fd>; 0 on success. */
static inline int lua_fdinfo(int fd, const char *key, char *val, size_t size)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	int ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *v;

		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		v = line + klen + 1;
		v += strspn(v, " \t");
		v[strcspn(v, "\n")] = '\0';
		snprintf(val, size, "%s", v);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

static inline long long lua_fdinfo_ll(int fd, const char *key)
{
	char val[64];

	if (lua_fdinfo(fd, key, val, sizeof(val)))
		return -1;
	return strtoll(val, NULL, 10);
}

static inline long long lua_read_sysctl(const char *name)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), LUA_SYSCTL_DIR "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

/* 0, or the errno of the write. */
static inline int lua_write_sysctl(const char *name, long long value)
{
	char path[128], buf[64];
	int fd, len, ret = 0;

	snprintf(path, sizeof(path), LUA_SYSCTL_DIR "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	len = snprintf(buf, sizeof(buf), "%lld\n", value);
	if (write(fd, buf, len) != len)
		ret = errno ? errno : EIO;
	close(fd);
	return ret;
}

/* The sysctls, saved and restored around the tests that change them. */
static const char * const lua_sysctl_names[] = {
	"unprivileged_register", "mem_limit", "insn_limit", "max_script_len",
};

#define LUA_NR_SYSCTLS	4

struct lua_sysctls {
	long long saved[LUA_NR_SYSCTLS];
};

static inline void lua_save_sysctls(struct lua_sysctls *s)
{
	int i;

	for (i = 0; i < LUA_NR_SYSCTLS; i++)
		s->saved[i] = lua_read_sysctl(lua_sysctl_names[i]);
}

static inline void lua_restore_sysctls(const struct lua_sysctls *s)
{
	int i;

	for (i = 0; i < LUA_NR_SYSCTLS; i++)
		if (s->saved[i] >= 0)
			lua_write_sysctl(lua_sysctl_names[i], s->saved[i]);
}

/* An address with nothing mapped at it. */
static inline void *lua_unmapped_addr(void)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, page);
	return p;
}

#endif /* __LUA_SYSCALL_UTIL_H */
