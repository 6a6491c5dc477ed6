// SPDX-License-Identifier: GPL-2.0-only
/*
 * The registration log: compile errors, runtime errors of the top level and
 * warnings about a script, written to the caller's buffer as bpf(2) writes
 * its verifier log.  Messages are collected in the kernel and copied out
 * once, at the end, so that a fault on the buffer fails the registration
 * in one place.  A message is one line; a log that does not fit is cut,
 * and log_true_size tells the caller the size that would have fitted it.
 */
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/lua_syscall.h>

#include "lua_syscall_log.h"

/* The longest message; the longest line of Lua's is shorter. */
#define LUA_SYSCALL_LOG_LINE	320

/**
 * lua_syscall_log_init() - start a log
 * @log: the log
 * @level: the level the caller asked for, 0 for no log
 * @user_size: the size of the caller's buffer
 *
 * Return: 0, or -ENOMEM.
 */
int lua_syscall_log_init(struct lua_syscall_log *log, u32 level,
			 u32 user_size)
{
	*log = (struct lua_syscall_log){ .level = level };
	if (!level)
		return 0;
	log->size = min_t(u32, user_size, LUA_SYSCALL_LOG_MAX);
	log->buf = kzalloc(log->size, GFP_KERNEL_ACCOUNT);
	return log->buf ? 0 : -ENOMEM;
}

void lua_syscall_log_free(struct lua_syscall_log *log)
{
	kfree(log->buf);
	log->buf = NULL;
}

/**
 * lua_syscall_log() - add a line to a log
 * @log: the log
 * @level: the level of the message: it is logged when the log's is as high
 * @fmt: printf format of the line, without its newline
 */
void lua_syscall_log(struct lua_syscall_log *log, u32 level,
		     const char *fmt, ...)
{
	char line[LUA_SYSCALL_LOG_LINE];
	va_list ap;
	int n;

	if (!log->buf || level > log->level)
		return;
	va_start(ap, fmt);
	n = vscnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	/* The whole log is at most LUA_SYSCALL_LOG_MAX, NUL included. */
	n = min_t(u32, n, LUA_SYSCALL_LOG_MAX - 1 - log->len);
	if (log->len < log->size)
		memcpy(log->buf + log->len, line,
		       min_t(u32, n, log->size - log->len));
	log->len += n;
}

/**
 * lua_syscall_log_copy_out() - give the log to the caller
 * @log: the log
 * @ubuf: the caller's buffer, of at least the size given to the init
 * @true_size: where the caller learns the size of the whole log
 *
 * Writes as much of the log as fits, always NUL-terminated.
 *
 * Return: 0, or -EFAULT.
 */
int lua_syscall_log_copy_out(const struct lua_syscall_log *log,
			     char __user *ubuf, u32 __user *true_size)
{
	u32 n;

	if (!log->buf)
		return 0;
	n = min(log->len, log->size - 1);
	if (copy_to_user(ubuf, log->buf, n) || put_user('\0', ubuf + n) ||
	    put_user(log->len + 1, true_size))
		return -EFAULT;
	return 0;
}
