// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * liblua_syscall: the system calls' wrappers, the support probe, and the
 * state's fdinfo parsed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lua_syscall.h"

/* Provisional numbers, the same on x86-64 and the generic-table arches. */
#ifndef __NR_register_lua_syscall
#define __NR_register_lua_syscall	463
#endif
#ifndef __NR_lua_syscall
#define __NR_lua_syscall		464
#endif

#define LUA_SYSCALL_SYSCTL_DIR	"/proc/sys/kernel/lua_syscall"

/* The opts field, or 0 when the caller's struct predates it. */
#define OPT(opts, field)						\
	((opts) && (opts)->sz >= offsetof(struct lua_syscall_opts, field) + \
	 sizeof((opts)->field) ? (opts)->field : 0)

static int fd_is_state(int fd)
{
	char path[64], link[64] = "";

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (readlink(path, link, sizeof(link) - 1) < 0)
		return 0;
	return !strcmp(link, "anon_inode:[luastate]");
}

int lua_syscall_supported(void)
{
	static const char probe[] = "return function() end";
	struct lua_syscall_reg reg = {
		.script = (uintptr_t)probe,
		.script_len = sizeof(probe) - 1,
		.flags = LUA_SYSCALL_CLOEXEC,
	};
	int fd, ours;

	fd = syscall(__NR_register_lua_syscall, &reg, sizeof(reg));
	if (fd < 0)
		return errno == EPERM &&
		       access(LUA_SYSCALL_SYSCTL_DIR, F_OK) == 0;
	ours = fd_is_state(fd);
	/* An fd some other call returned is not ours to close. */
	if (ours)
		close(fd);
	return ours;
}

int lua_syscall_register(const char *script, size_t len,
			 struct lua_syscall_opts *opts)
{
	struct lua_syscall_reg reg = {
		.script = (uintptr_t)script,
		.script_len = len,
		.flags = OPT(opts, flags),
		.name = (uintptr_t)OPT(opts, name),
		.insn_limit = OPT(opts, insn_limit),
		.mem_limit = OPT(opts, mem_limit),
	};
	char *log_buf = OPT(opts, log_buf);
	size_t log_size = OPT(opts, log_size);
	int fd;

	if (log_buf && log_size) {
		reg.log_buf = (uintptr_t)log_buf;
		reg.log_size = log_size > UINT32_MAX ? UINT32_MAX : log_size;
		reg.log_level = OPT(opts, log_level) ?: LUA_SYSCALL_LOG_WARNINGS;
		log_buf[0] = '\0';
	}
	fd = syscall(__NR_register_lua_syscall, &reg, sizeof(reg));
	if (opts && opts->sz >= offsetof(struct lua_syscall_opts,
					 log_true_size) +
				sizeof(opts->log_true_size))
		opts->log_true_size = reg.log_true_size;
	return fd;
}

int lua_syscall_register_file(const char *path,
			      struct lua_syscall_opts *opts)
{
	char *script = NULL;
	size_t len = 0, size = 0;
	int fd, err = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		if (len == size) {
			char *more;

			size = size ? 2 * size : 4096;
			more = realloc(script, size);
			if (!more) {
				err = ENOMEM;
				break;
			}
			script = more;
		}
		n = read(fd, script + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = errno;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	fd = -1;
	if (!err)
		fd = lua_syscall_register(script, len, opts);
	else
		errno = err;
	err = errno;
	free(script);
	errno = err;
	return fd;
}

long lua_syscall_call(int fd, const uint64_t *args, unsigned int nargs)
{
	return syscall(__NR_lua_syscall, fd, args, nargs, 0);
}

ssize_t lua_syscall_last_error(int fd, char *buf, size_t size)
{
	ssize_t n;

	if (!size) {
		errno = EINVAL;
		return -1;
	}
	/* pread at 0: the message is read whole, again and again. */
	n = pread(fd, buf, size - 1, 0);
	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

static void parse_u64(const char *val, uint64_t *out)
{
	*out = strtoull(val, NULL, 10);
}

int lua_syscall_get_info(int fd, struct lua_syscall_info *info)
{
	char path[64], line[1024];
	int found = 0;
	FILE *f;

	memset(info, 0, sizeof(*info));
	if (!fd_is_state(fd)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *val = strchr(line, ':');

		if (!val || strncmp(line, "lua-", 4))
			continue;
		*val++ = '\0';
		val += strspn(val, " \t");
		val[strcspn(val, "\n")] = '\0';
		found = 1;
		if (!strcmp(line, "lua-name"))
			snprintf(info->name, sizeof(info->name), "%s", val);
		else if (!strcmp(line, "lua-invocations"))
			parse_u64(val, &info->invocations);
		else if (!strcmp(line, "lua-nested-syscalls"))
			parse_u64(val, &info->nested_syscalls);
		else if (!strcmp(line, "lua-instructions"))
			parse_u64(val, &info->instructions);
		else if (!strcmp(line, "lua-mem-used"))
			parse_u64(val, &info->mem_used);
		else if (!strcmp(line, "lua-mem-limit"))
			parse_u64(val, &info->mem_limit);
		else if (!strcmp(line, "lua-insn-limit"))
			parse_u64(val, &info->insn_limit);
		else if (!strcmp(line, "lua-last-errno"))
			info->last_errno = atoi(val);
	}
	fclose(f);
	if (!found) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}
