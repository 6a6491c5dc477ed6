/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The registration log: what register_lua_syscall() tells its caller about
 * a script.
 */
#ifndef _KERNEL_LUA_SYSCALL_LOG_H
#define _KERNEL_LUA_SYSCALL_LOG_H

#include <linux/compiler_attributes.h>
#include <linux/types.h>

/* The most a log holds, its NUL included: a few errors, some warnings. */
#define LUA_SYSCALL_LOG_MAX	8192

/* Warnings logged for one script; more are counted in one last line. */
#define LUA_SYSCALL_LOG_MAX_WARNINGS	16

/**
 * struct lua_syscall_log - a log being written
 * @buf: the kernel's copy, or NULL when nothing is logged
 * @size: the size of @buf
 * @len: the length of the whole log, NUL excluded, even beyond @size
 * @level: LUA_SYSCALL_LOG_*: the messages wanted
 */
struct lua_syscall_log {
	char *buf;
	u32 size;
	u32 len;
	u32 level;
};

int lua_syscall_log_init(struct lua_syscall_log *log, u32 level,
			 u32 user_size);
void lua_syscall_log_free(struct lua_syscall_log *log);
void lua_syscall_log(struct lua_syscall_log *log, u32 level,
		     const char *fmt, ...) __printf(3, 4);
int lua_syscall_log_copy_out(const struct lua_syscall_log *log,
			     char __user *ubuf, u32 __user *true_size);

#endif /* _KERNEL_LUA_SYSCALL_LOG_H */
