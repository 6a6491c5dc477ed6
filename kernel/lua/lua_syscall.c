// SPDX-License-Identifier: GPL-2.0-only
/*
 * lua_syscall: system call scripting.
 *
 * register_lua_syscall() compiles a Lua chunk into a new bounded state, runs
 * its top level once and returns an fd ("[luastate]") for the function the
 * chunk returned: the entry.  lua_syscall() calls the entry with integer
 * arguments in the caller's context; through the sys library the script
 * makes system calls as the caller, so many calls cost one kernel crossing.
 *
 * A state runs one call at a time; other callers wait, interruptibly, and
 * restart after a signal's handler.  The fd may be shared by threads and
 * across fork like any file.
 */
/* lua_inplace.h reads the Lua core's internal types */
#define LUA_CORE

#include <linux/anon_inodes.h>
#include <linux/array_size.h>
#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/ctype.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/lua_runtime.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/seqlock.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/string_helpers.h>
#include <linux/syscalls.h>
#include <linux/sysctl.h>
#include <linux/uaccess.h>
#include <linux/wait_bit.h>
#include <uapi/linux/lua_syscall.h>

#include "lua.h"
#include "lauxlib.h"
#include "lua_inplace.h"
#include "lua_syscall_libs.h"
#include "lua_syscall_log.h"

/* The entry lives in this slot of the state's main stack, for its life. */
#define LUASTATE_ENTRY_INDEX	1

/*
 * kernel.lua_syscall.unprivileged_register: an interpreter of user programs
 * in the kernel is a programmable gadget (Spectre v1 and the like), so it
 * is closed to unprivileged users unless the administrator opens it, and
 * can be closed for good, until reboot.  (kernel.unprivileged_bpf_disabled
 * has the same three states, but counts them the other way round.)
 */
enum {
	LUA_UNPRIV_DENIED,	/* registration needs CAP_SYS_ADMIN */
	LUA_UNPRIV_ALLOWED,	/* anyone may register */
	LUA_UNPRIV_LOCKED,	/* denied, and no write can change that */
};

static unsigned int sysctl_unprivileged_register;
static unsigned long sysctl_mem_limit = LUA_RUNTIME_DEFAULT_MEM;
static unsigned long sysctl_insn_limit = LUA_RUNTIME_DEFAULT_INSNS;
static unsigned long sysctl_max_script_len = 64 * 1024;

/* States are numbered from 1 in the order they are created. */
static atomic64_t luastate_ids = ATOMIC64_INIT(0);

/* The least budgets a state may have: the sysctls' minimums too. */
#define LUASTATE_MIN_MEM	(64 * 1024)
#define LUASTATE_MIN_INSNS	1000

/*
 * One call at a time runs a state: LUASTATE_RUNNING in flags is its lock.
 * A bit lock, not a mutex, because it is held across the caller's nested
 * system calls, in which the caller may stop, or be frozen as a direct call
 * would be (get_signal_nested()), and no lock that lockdep tracks may be
 * held there.  Nothing else is locked under it in a way that could invert:
 * its waiters wait interruptibly, so a stopped or frozen holder delays them
 * and nothing else.
 */
enum { LUASTATE_RUNNING };

struct luastate {
	unsigned long flags;
	struct lua_runtime *rt;
	struct lua_syscall_ctx ctx;	/* of the running call */
	s64 args[LUA_SYSCALL_MAX_ARGS];	/* of the running call */

	/*
	 * The last call's outcome, for read() and fdinfo: written by the
	 * caller that holds LUASTATE_RUNNING, so a count, not a lock.
	 */
	seqcount_t info_seq;
	u64 invocations;
	u64 nested_calls;
	int last_errno;
	char last_error[LUA_RUNTIME_ERRLEN];
	char name[LUA_SYSCALL_NAME_MAX];	/* set before the fd exists */
};

static const struct file_operations luastate_fops;

static void luastate_free(struct luastate *ls)
{
	if (!IS_ERR_OR_NULL(ls->rt))
		lua_runtime_destroy(ls->rt);
	kfree(ls);
}

static int luastate_release(struct inode *inode, struct file *file)
{
	luastate_free(file->private_data);
	return 0;
}

/*
 * Record the outcome of a call: @err is 0 or a negative errno, @msg its
 * text.  Both describe the last call, a success included, so that no error
 * is ever explained by an earlier one.
 */
static void luastate_account(struct luastate *ls, int err, const char *msg)
{
	/* A preempted writer would keep the readers spinning. */
	preempt_disable();
	write_seqcount_begin(&ls->info_seq);
	ls->invocations++;
	ls->nested_calls = ls->ctx.nested;
	ls->last_errno = -err;
	if (err)
		strscpy(ls->last_error, msg, sizeof(ls->last_error));
	else
		ls->last_error[0] = '\0';
	write_seqcount_end(&ls->info_seq);
	preempt_enable();
}

/* read(): the message of the last call, empty after a success. */
static ssize_t luastate_read(struct file *file, char __user *buf, size_t count,
			     loff_t *ppos)
{
	struct luastate *ls = file->private_data;
	char msg[LUA_RUNTIME_ERRLEN];
	unsigned int seq;

	do {
		seq = read_seqcount_begin(&ls->info_seq);
		strscpy(msg, ls->last_error, sizeof(msg));
	} while (read_seqcount_retry(&ls->info_seq, seq));
	return simple_read_from_buffer(buf, count, ppos, msg, strlen(msg));
}

#ifdef CONFIG_PROC_FS
static void luastate_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct luastate *ls = file->private_data;
	struct lua_runtime_stats stats;
	char msg[LUA_RUNTIME_ERRLEN];
	u64 invocations, nested_calls;
	unsigned int seq;
	int last_errno;

	do {
		seq = read_seqcount_begin(&ls->info_seq);
		invocations = ls->invocations;
		nested_calls = ls->nested_calls;
		last_errno = ls->last_errno;
		strscpy(msg, ls->last_error, sizeof(msg));
	} while (read_seqcount_retry(&ls->info_seq, seq));
	/* as they are now: a call in progress counts what it has done */
	lua_runtime_get_stats(ls->rt, &stats);

	/* Letters, digits and "_.-" only: no escaping needed. */
	seq_printf(m, "lua-id:\t%llu\n", ls->ctx.id);
	seq_printf(m, "lua-name:\t%s\n", ls->name);
	seq_printf(m, "lua-invocations:\t%llu\n", invocations);
	seq_printf(m, "lua-nested-syscalls:\t%llu\n", nested_calls);
	seq_printf(m, "lua-instructions:\t%llu\n", stats.insns);
	seq_printf(m, "lua-mem-used:\t%zu\n", stats.mem_used);
	seq_printf(m, "lua-mem-limit:\t%zu\n", stats.mem_limit);
	seq_printf(m, "lua-insn-limit:\t%llu\n", stats.insn_limit);
	seq_printf(m, "lua-last-errno:\t%d\n", last_errno);
	/* The message may hold any byte a script chose: one line, ASCII. */
	seq_puts(m, "lua-last-error:\t");
	seq_escape_str(m, msg, ESCAPE_OCTAL | ESCAPE_NAP | ESCAPE_APPEND, "\\");
	seq_putc(m, '\n');
}
#endif

static const struct file_operations luastate_fops = {
#ifdef CONFIG_PROC_FS
	.show_fdinfo	= luastate_show_fdinfo,
#endif
	.release	= luastate_release,
	.read		= luastate_read,
	.llseek		= default_llseek,
};

void lua_syscall_ctx_begin(struct lua_syscall_ctx *ctx)
{
	ctx->abort_errno = 0;
	ctx->abort_msg[0] = '\0';
	ctx->exit_signal = 0;
	ctx->frame_ready = false;
}

/* The outcome of a call: an abort overrides what the script made of it. */
int lua_syscall_ctx_end(struct lua_syscall_ctx *ctx, int err, const char **msg)
{
	if (ctx->abort_errno) {
		if (msg)
			*msg = ctx->abort_msg;
		return ctx->abort_errno;
	}
	return err;
}

/*
 * Fail the whole call with @err and stop the script at once: a pcall() in
 * it cannot keep the error.  Does not return.
 */
int lua_syscall_abort(struct lua_State *L, struct lua_syscall_ctx *ctx,
		      int err, const char *fmt, ...)
{
	va_list ap;

	if (!ctx->abort_errno) {
		ctx->abort_errno = err;
		va_start(ap, fmt);
		vsnprintf(ctx->abort_msg, sizeof(ctx->abort_msg), fmt, ap);
		va_end(ap);
	}
	return lua_runtime_abort(L, err);
}

/* See lua_syscall_check_running(); does not return. */
int lua_syscall_stop(struct lua_State *L, struct lua_syscall_ctx *ctx)
{
	/* The first reason stays: a fatal signal during an abort is no news. */
	return lua_runtime_abort(L, -EINTR);
}

int lua_syscall_stack_error(struct lua_State *L)
{
	return luaL_error(L, "not enough kernel stack left for a system call");
}

/*
 * The main thread's extra space holds the context: every thread created
 * later starts with a copy of it.
 */
void lua_syscall_open_libs(struct lua_State *L, struct lua_syscall_ctx *ctx)
{
	static const luaL_Reg libs[] = {
		{ "sys", lua_syscall_open_sys },
		{ "mem", lua_syscall_open_mem },
	};
	int i;

	*(struct lua_syscall_ctx **)lua_getextraspace(L) = ctx;
	for (i = 0; i < ARRAY_SIZE(libs); i++) {
		lua_pushcfunction(L, libs[i].func);
		lua_call(L, 0, 1);
		lua_setglobal(L, libs[i].name);
	}
}

static bool may_register(void)
{
	return READ_ONCE(sysctl_unprivileged_register) == LUA_UNPRIV_ALLOWED ||
	       capable(CAP_SYS_ADMIN);
}

static int luastate_open_libs(struct lua_State *L, void *arg)
{
	lua_syscall_open_libs(L, arg);
	return 0;
}

/* The chunk's name in Lua's messages: the state's, or "script". */
static const char *luastate_chunk_name(const struct luastate *ls)
{
	return ls->name[0] ? ls->name : "script";
}

struct luastate_warnings {
	struct lua_syscall_log *log;
	const char *chunk;
	unsigned int n;
};

static void luastate_warn_name(void *arg, int line, const char *table,
			       const char *name)
{
	struct luastate_warnings *w = arg;
	bool call = !strcmp(table, "sys");

	if (w->n++ < LUA_SYSCALL_LOG_MAX_WARNINGS)
		lua_syscall_log(w->log, LUA_SYSCALL_LOG_WARNINGS,
				"%s:%d: warning: %s.%s: no such %s", w->chunk,
				line, table, name,
				call ? "system call" : "constant");
}

static void luastate_check_chunk(struct luastate *ls,
				 struct lua_syscall_log *log)
{
	struct luastate_warnings w = {
		.log = log, .chunk = luastate_chunk_name(ls),
	};

	if (log->level < LUA_SYSCALL_LOG_WARNINGS)
		return;
	lua_syscall_check_chunk(lua_runtime_state(ls->rt),
				luastate_warn_name, &w);
	if (w.n > LUA_SYSCALL_LOG_MAX_WARNINGS)
		lua_syscall_log(log, LUA_SYSCALL_LOG_WARNINGS,
				"%s: warning: %u more unknown names",
				w.chunk, w.n - LUA_SYSCALL_LOG_MAX_WARNINGS);
}

/*
 * Lua's messages start with "chunk:line:" when they have a place: the log
 * says "chunk:line: error: message", as compilers do, and "chunk: error:
 * message" without one.
 */
static void luastate_log_error(const struct luastate *ls,
			       struct lua_syscall_log *log, const char *msg)
{
	const char *chunk = luastate_chunk_name(ls);
	size_t len = strlen(chunk);
	const char *rest;

	if (!strncmp(msg, chunk, len) && msg[len] == ':' &&
	    isdigit(msg[len + 1])) {
		rest = msg + len + 1;
		while (isdigit(*rest))
			rest++;
		if (rest[0] == ':' && rest[1] == ' ') {
			lua_syscall_log(log, LUA_SYSCALL_LOG_ERRORS,
					"%.*s: error: %s", (int)(rest - msg),
					msg, rest + 2);
			return;
		}
	}
	lua_syscall_log(log, LUA_SYSCALL_LOG_ERRORS, "%s: error: %s", chunk,
			msg);
}

/* Compile and run the chunk; leave its entry at LUASTATE_ENTRY_INDEX. */
static int luastate_load(struct luastate *ls, const char *script, size_t len,
			 struct lua_syscall_log *log)
{
	struct lua_State *L = lua_runtime_state(ls->rt);
	char chunk[LUA_SYSCALL_NAME_MAX + 1];
	const char *msg;
	int err;

	err = lua_runtime_cpcall(ls->rt, luastate_open_libs, &ls->ctx);
	if (err)
		goto fail;
	snprintf(chunk, sizeof(chunk), "=%s", luastate_chunk_name(ls));
	err = lua_runtime_load(ls->rt, script, len, chunk);
	if (err)
		goto fail;
	luastate_check_chunk(ls, log);

	lua_syscall_ctx_begin(&ls->ctx);
	err = lua_runtime_pcall(ls->rt, 0, 1);
	if (!err && ls->ctx.abort_errno)
		lua_pop(L, 1);
	msg = lua_runtime_last_error(ls->rt);
	err = lua_syscall_ctx_end(&ls->ctx, err, &msg);
	if (err) {
		luastate_log_error(ls, log, msg);
		return err;
	}
	if (lua_type(L, -1) != LUA_TFUNCTION) {
		lua_syscall_log(log, LUA_SYSCALL_LOG_ERRORS,
				"%s: error: the chunk returned %s, not a function (the entry)",
				luastate_chunk_name(ls),
				lua_typename(L, lua_type(L, -1)));
		lua_pop(L, 1);
		return -EINVAL;
	}
	WARN_ON_ONCE(lua_gettop(L) != LUASTATE_ENTRY_INDEX);
	return 0;

fail:
	luastate_log_error(ls, log, lua_runtime_last_error(ls->rt));
	return err;
}

/* A budget asked for: 0 for the sysctl's, which is also the most. */
static int luastate_budget(struct lua_syscall_log *log, const char *field,
			   u64 *val, unsigned long min, unsigned long max)
{
	if (!*val) {
		*val = max;
		return 0;
	}
	if (*val >= min && *val <= max)
		return 0;
	lua_syscall_log(log, LUA_SYSCALL_LOG_ERRORS,
			"error: %s %llu: outside %lu..%lu (kernel.lua_syscall.%s)",
			field, *val, min, max, field);
	return -EINVAL;
}

static bool luastate_name_valid(const char *name)
{
	for (; *name; name++)
		if (!isalnum(*name) && !strchr("_.-", *name))
			return false;
	return true;
}

static int luastate_get_name(struct luastate *ls, struct lua_syscall_log *log,
			     u64 uname)
{
	long n;

	if (!uname)
		return 0;
	n = strncpy_from_user(ls->name, u64_to_user_ptr(uname),
			      sizeof(ls->name));
	if (n < 0)
		return n;
	if (n == sizeof(ls->name) || !luastate_name_valid(ls->name)) {
		ls->name[0] = '\0';
		lua_syscall_log(log, LUA_SYSCALL_LOG_ERRORS,
				"error: name: at most %d letters, digits, '_', '.' or '-'",
				LUA_SYSCALL_NAME_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

/* The arguments that need no state, with their reasons in the log. */
static int luastate_check_reg(const struct lua_syscall_reg *reg,
			      struct lua_syscall_log *log)
{
	unsigned long max_len = READ_ONCE(sysctl_max_script_len);

	if (reg->flags & ~(u64)LUA_SYSCALL_CLOEXEC) {
		lua_syscall_log(log, LUA_SYSCALL_LOG_ERRORS,
				"error: flags: unknown bits %#llx",
				reg->flags & ~(u64)LUA_SYSCALL_CLOEXEC);
		return -EINVAL;
	}
	if (!reg->script_len) {
		lua_syscall_log(log, LUA_SYSCALL_LOG_ERRORS,
				"error: script_len is 0");
		return -EINVAL;
	}
	if (!may_register()) {
		lua_syscall_log(log, LUA_SYSCALL_LOG_ERRORS,
				"error: registration needs CAP_SYS_ADMIN (kernel.lua_syscall.unprivileged_register)");
		return -EPERM;
	}
	if (reg->script_len > max_len) {
		lua_syscall_log(log, LUA_SYSCALL_LOG_ERRORS,
				"error: script_len %llu: above %lu (kernel.lua_syscall.max_script_len)",
				reg->script_len, max_len);
		return -E2BIG;
	}
	return 0;
}

static struct luastate *luastate_create(const struct lua_syscall_reg *reg,
					const char *script,
					struct lua_syscall_log *log,
					int *exit_signal)
{
	struct lua_runtime_limits limits;
	u64 insn_limit = reg->insn_limit, mem_limit = reg->mem_limit;
	struct luastate *ls;
	int err;

	err = luastate_budget(log, "insn_limit", &insn_limit,
			      LUASTATE_MIN_INSNS, READ_ONCE(sysctl_insn_limit));
	if (!err)
		err = luastate_budget(log, "mem_limit", &mem_limit,
				      LUASTATE_MIN_MEM,
				      READ_ONCE(sysctl_mem_limit));
	if (err)
		return ERR_PTR(err);

	ls = kzalloc(sizeof(*ls), GFP_KERNEL_ACCOUNT);
	if (!ls)
		return ERR_PTR(-ENOMEM);
	seqcount_init(&ls->info_seq);
	ls->ctx.id = atomic64_inc_return(&luastate_ids);
	ls->ctx.name = ls->name;
	err = luastate_get_name(ls, log, reg->name);
	if (err)
		goto fail;
	limits.mem_limit = mem_limit;
	limits.insn_limit = insn_limit;
	ls->rt = lua_runtime_create(&limits);
	if (IS_ERR(ls->rt)) {
		err = PTR_ERR(ls->rt);
		goto fail;
	}
	ls->ctx.rt = ls->rt;
	err = luastate_load(ls, script, reg->script_len, log);
	*exit_signal = ls->ctx.exit_signal;
	if (err)
		goto fail;
	ls->nested_calls = ls->ctx.nested;
	return ls;

fail:
	luastate_free(ls);
	return ERR_PTR(err);
}

static int luastate_install(struct luastate *ls, u64 flags)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(flags & LUA_SYSCALL_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0)
		return fd;
	/* A file of its own, so that LSMs can label the state. */
	file = anon_inode_create_getfile("[luastate]", &luastate_fops, ls,
					 O_RDWR, NULL);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	/* pread(fd, buf, n, 0) re-reads the last error. */
	file->f_mode |= FMODE_PREAD;
	fd_install(fd, file);
	return fd;
}

static int do_register(struct lua_syscall_reg __user *ureg, size_t usize,
		       int *exit_signal)
{
	struct lua_syscall_log log;
	struct lua_syscall_reg reg;
	struct luastate *ls = NULL;
	char *script = NULL;
	int err, ret;

	BUILD_BUG_ON(sizeof(reg) != LUA_SYSCALL_REG_SIZE_VER0);
	if (in_compat_syscall())
		return -EOPNOTSUPP;
	if (usize < LUA_SYSCALL_REG_SIZE_VER0)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	err = copy_struct_from_user(&reg, sizeof(reg), ureg, usize);
	if (err)
		return err;
	/* First what the log needs: every other refusal is explained in it. */
	if (reg.log_level > LUA_SYSCALL_LOG_WARNINGS || reg.reserved ||
	    !reg.log_buf != !reg.log_size || (reg.log_level && !reg.log_buf))
		return -EINVAL;
	err = lua_syscall_log_init(&log, reg.log_level, reg.log_size);
	if (err)
		return err;

	err = luastate_check_reg(&reg, &log);
	if (err)
		goto out;
	script = vmemdup_user(u64_to_user_ptr(reg.script), reg.script_len);
	if (IS_ERR(script)) {
		err = PTR_ERR(script);
		script = NULL;
		goto out;
	}
	ls = luastate_create(&reg, script, &log, exit_signal);
	if (IS_ERR(ls)) {
		err = PTR_ERR(ls);
		ls = NULL;
		goto out;
	}
out:
	kvfree(script);
	ret = lua_syscall_log_copy_out(&log, u64_to_user_ptr(reg.log_buf),
				       &ureg->log_true_size);
	lua_syscall_log_free(&log);
	if (!err)
		err = ret;
	if (!err)
		err = luastate_install(ls, reg.flags);
	if (err < 0 && ls)
		luastate_free(ls);
	return err;
}

SYSCALL_DEFINE2(register_lua_syscall, struct lua_syscall_reg __user *, reg,
		size_t, size)
{
	int exit_signal = 0;
	int ret;

	ret = do_register(reg, size, &exit_signal);
	/* A seccomp verdict that killed the thread, now unwound. */
	if (exit_signal)
		do_exit(exit_signal);
	return ret;
}

/* The entry's first result as the system call's return value. */
static long luastate_result(struct lua_State *L, const char **msg)
{
	lua_Integer v;

	if (!lua_inplace_top_integer(L, &v)) {
		if (lua_inplace_top_nil(L))
			return 0;
		*msg = lua_typename(L, lua_type(L, -1));
		return -LUA_RUNTIME_ERUNTIME;
	}
	/* Restart codes would make the signal code restart lua_syscall(). */
	if (v <= -ERESTARTSYS && v >= -ERESTART_RESTARTBLOCK)
		return -EINTR;
	return v;
}

/* Out of line: its buffer would be cleared on every call. */
static noinline void luastate_account_type(struct luastate *ls, long ret,
					   const char *type)
{
	char msg[LUA_RUNTIME_ERRLEN];

	snprintf(msg, sizeof(msg), "the entry returned a %s, not an integer",
		 type);
	luastate_account(ls, ret, msg);
}

/* An errno the script returned: said to be the script's, not the kernel's. */
static noinline void luastate_account_errno(struct luastate *ls, long ret)
{
	char msg[LUA_RUNTIME_ERRLEN];

	snprintf(msg, sizeof(msg), "the entry returned %ld", ret);
	luastate_account(ls, ret, msg);
}

static long luastate_call(struct luastate *ls, unsigned int nargs)
{
	struct lua_State *L = lua_runtime_state(ls->rt);
	const char *type = NULL, *errmsg;
	long ret;
	int err;

	lua_syscall_ctx_begin(&ls->ctx);
	err = lua_runtime_call_integers(ls->rt, LUASTATE_ENTRY_INDEX, ls->args,
					nargs);
	if (!err && ls->ctx.abort_errno)
		lua_inplace_pop(L);
	errmsg = lua_runtime_last_error(ls->rt);
	err = lua_syscall_ctx_end(&ls->ctx, err, &errmsg);
	if (err) {
		luastate_account(ls, err, errmsg);
		return err;
	}
	ret = luastate_result(L, &type);
	lua_inplace_pop(L);
	if (type)
		luastate_account_type(ls, ret, type);
	else if (IS_ERR_VALUE(ret))
		luastate_account_errno(ls, ret);
	else
		luastate_account(ls, 0, NULL);
	return ret;
}

static long do_lua_syscall(int fd, const u64 __user *uargs, unsigned int nargs,
			   unsigned int flags, int *exit_signal)
{
	struct luastate *ls;
	long ret;

	if (flags || nargs > LUA_SYSCALL_MAX_ARGS)
		return -EINVAL;
	if (in_compat_syscall())
		return -EOPNOTSUPP;

	/*
	 * A counted reference, not CLASS(fd): the script may close() its own
	 * fd, and fdget() of a single-threaded task takes none.
	 */
	struct file *file __free(fput) = fget(fd);

	if (!file)
		return -EBADF;
	if (file->f_op != &luastate_fops)
		return -EINVAL;
	ls = file->private_data;

	/*
	 * Waiting for another caller's script is not work done: a signal
	 * interrupts the wait and the call restarts after its handler, so
	 * that a waiter neither counts as uninterruptible nor holds up the
	 * freezer or a stop.
	 */
	if (wait_on_bit_lock(&ls->flags, LUASTATE_RUNNING, TASK_INTERRUPTIBLE))
		return -ERESTARTNOINTR;
	/* Into the state, not the stack: no buffer to clear on each call. */
	if (nargs && copy_from_user(ls->args, uargs, nargs * sizeof(u64))) {
		clear_and_wake_up_bit(LUASTATE_RUNNING, &ls->flags);
		return -EFAULT;
	}
	ret = luastate_call(ls, nargs);
	*exit_signal = ls->ctx.exit_signal;
	clear_and_wake_up_bit(LUASTATE_RUNNING, &ls->flags);
	return ret;
}

SYSCALL_DEFINE4(lua_syscall, int, fd, const u64 __user *, args,
		unsigned int, nargs, unsigned int, flags)
{
	int exit_signal = 0;
	long ret;

	ret = do_lua_syscall(fd, args, nargs, flags, &exit_signal);
	/* After the fd reference is dropped: do_exit() does not return. */
	if (exit_signal)
		do_exit(exit_signal);
	return ret;
}

static int lua_unprivileged_handler(const struct ctl_table *table, int write,
				    void *buffer, size_t *lenp, loff_t *ppos)
{
	unsigned int *data = table->data, val = READ_ONCE(*data), old;
	struct ctl_table tmp = *table;
	int ret;

	if (write && !capable(CAP_SYS_ADMIN))
		return -EPERM;
	tmp.data = &val;
	ret = proc_douintvec_minmax(&tmp, write, buffer, lenp, ppos);
	if (!write || ret)
		return ret;
	/* Against a concurrent write that locks it. */
	old = READ_ONCE(*data);
	do {
		if (old == LUA_UNPRIV_LOCKED && val != LUA_UNPRIV_LOCKED)
			return -EPERM;
	} while (!try_cmpxchg(data, &old, val));
	return 0;
}

static struct ctl_table lua_syscall_sysctls[] = {
	{
		.procname	= "unprivileged_register",
		.data		= &sysctl_unprivileged_register,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= lua_unprivileged_handler,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_TWO,
	},
	{
		.procname	= "mem_limit",
		.data		= &sysctl_mem_limit,
		.maxlen		= sizeof(unsigned long),
		.mode		= 0644,
		.proc_handler	= proc_doulongvec_minmax,
		.extra1		= &(unsigned long){ LUASTATE_MIN_MEM },
		.extra2		= &(unsigned long){ 256 * 1024 * 1024 },
	},
	{
		.procname	= "insn_limit",
		.data		= &sysctl_insn_limit,
		.maxlen		= sizeof(unsigned long),
		.mode		= 0644,
		.proc_handler	= proc_doulongvec_minmax,
		.extra1		= &(unsigned long){ LUASTATE_MIN_INSNS },
		/*
		 * About a second of a CPU: a call is checked, and may be
		 * rescheduled, every few hundred instructions, but a longer
		 * computation belongs in user space.
		 */
		.extra2		= &(unsigned long){ 1000000000UL },
	},
	{
		.procname	= "max_script_len",
		.data		= &sysctl_max_script_len,
		.maxlen		= sizeof(unsigned long),
		.mode		= 0644,
		.proc_handler	= proc_doulongvec_minmax,
		.extra1		= &(unsigned long){ 1 },
		.extra2		= &(unsigned long){ 1024 * 1024 },
	},
};

static int __init lua_syscall_sysctl_init(void)
{
	register_sysctl_init("kernel/lua_syscall", lua_syscall_sysctls);
	return 0;
}
late_initcall(lua_syscall_sysctl_init);
