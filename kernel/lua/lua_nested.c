// SPDX-License-Identifier: GPL-2.0-only
/*
 * A system call that kernel code makes on behalf of the current task, inside
 * one of the task's own system calls: a lua_syscall script's nested call.
 *
 * To every mechanism that sees or limits the task's system calls it is the
 * task's own call, or it is refused with a documented errno where that
 * cannot be (Documentation/userspace-api/lua_syscall.rst lists them).  The
 * entry work, in the order syscall_trace_enter() does it:
 *
 * - syscall user dispatch would hand the task's user registers, which
 *   belong to the outer call, to a handler: nested calls fail with -EPERM
 *   while it is on;
 * - ptrace syscall stops (PTRACE_SYSCALL, PTRACE_SYSEMU) stop at a nested
 *   call's entry and exit, with its number, arguments and result in the
 *   user register frame for the tracer to read and change, and the outer
 *   call's frame put back afterwards;
 * - seccomp judges the call with every action: secure_computing_nested();
 * - the raw_syscalls and syscalls tracepoints see it, with a register
 *   frame of its own;
 * - audit gives it a record of its own, the outer call's set aside.
 *
 * And the exit work that a return to user space would do before the task's
 * next call:
 *
 * - a call interrupted with a restart code restarts (restart_block
 *   included) when nothing is delivered, as the arch signal code restarts
 *   it, after the stops, traps and freezing that get_signal() would have
 *   done (get_signal_nested()); a signal that is delivered (a handler, a
 *   fatal one, one a ptrace tracer sees) waits for the outer call's return,
 *   too late for the nested call, which fails with -EINTR;
 * - pending task work runs (the last fput() of a dup2() over an fd or of
 *   close_range(), io_uring completions), so that nothing waits for the
 *   outer call to return, and so does the work of TIF_NOTIFY_RESUME
 *   (cgroup throttling, the request_key cache, rseq);
 * - the next call gets a new random kernel stack offset;
 * - a temporary signal mask (ppoll, pselect6, epoll_pwait, rt_sigsuspend,
 *   io_uring_enter...) is restored, unless a signal is pending: then it
 *   stays, to be delivered with it on the outer return, as after a call
 *   from user space, and further nested calls fail with -EINTR meanwhile.
 */
#include <linux/audit.h>
#include <linux/errno.h>
#include <linux/lua_syscall.h>
#include <linux/nospec.h>
#include <linux/ptrace.h>
#include <linux/random.h>
#include <linux/randomize_kstack.h>
#include <linux/restart_block.h>
#include <linux/resume_user_mode.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/seccomp.h>
#include <linux/task_work.h>
#include <linux/thread_info.h>
#include <linux/unistd.h>
#include <asm/syscall.h>
#include <trace/events/syscalls.h>

/* A handler that would act on the outer call's registers. */
static bool nested_frame_wanted(void)
{
#ifdef CONFIG_GENERIC_ENTRY
	return test_syscall_work(SYSCALL_USER_DISPATCH);
#else
	return false;
#endif
}

/*
 * Any of the entry work of a system call: seccomp, ptrace, tracepoints,
 * audit, syscall user dispatch.  Without it a nested call takes the short
 * path, one test for all of them.
 */
static __always_inline bool nested_syscall_work(void)
{
#ifdef CONFIG_GENERIC_ENTRY
	return READ_ONCE(current_thread_info()->syscall_work);
#else
	return read_thread_flags() & _TIF_SYSCALL_WORK;
#endif
}

/*
 * Something a nested call must handle before it runs or after it returns:
 * a signal, a notification, task work, a temporary signal mask, the work
 * of a return to user space.
 */
static __always_inline bool nested_task_work(void)
{
	return (read_thread_flags() & (_TIF_SIGPENDING | _TIF_NOTIFY_SIGNAL |
				       _TIF_NOTIFY_RESUME)) ||
	       task_work_pending(current) || test_restore_sigmask();
}

/* A ptrace tracer stops the task at its system calls. */
static bool nested_syscall_stops(void)
{
	return test_syscall_work(SYSCALL_TRACE) ||
	       test_syscall_work(SYSCALL_EMU);
}

/* A ptrace tracer may stop the task at its system calls, or for seccomp. */
static bool nested_ptraced(void)
{
	return nested_syscall_stops() ||
	       ptrace_event_enabled(current, PTRACE_EVENT_SECCOMP);
}

static void nested_trace_enter(struct pt_regs *regs, unsigned int nr)
{
#ifdef CONFIG_HAVE_SYSCALL_TRACEPOINTS
	if (test_syscall_work(SYSCALL_TRACEPOINT))
		trace_sys_enter(regs, nr);
#endif
}

static void nested_trace_exit(struct pt_regs *regs, long ret)
{
#ifdef CONFIG_HAVE_SYSCALL_TRACEPOINTS
	if (test_syscall_work(SYSCALL_TRACEPOINT))
		trace_sys_exit(regs, ret);
#endif
}

/*
 * Only nested calls leave a temporary mask behind (the outer call entered
 * without one), and only while a signal is pending: restore it once the
 * signal is gone (dequeued by the task's other threads, or a notification
 * that task work consumed).
 */
static bool nested_sigmask_settled(void)
{
	if (!test_restore_sigmask())
		return true;
	if (task_sigpending(current))
		return false;
	restore_saved_sigmask();
	return true;
}

/* What get_signal() does first: notifications, then task work. */
static void nested_notify_work(void)
{
	if (test_thread_flag(TIF_NOTIFY_SIGNAL))
		clear_notify_signal();
	if (task_work_pending(current))
		task_work_run();
}

static noinline void nested_exit_work(void)
{
	nested_notify_work();
	/*
	 * What a return to user space does for TIF_NOTIFY_RESUME: memory
	 * and block cgroup throttling, the request_key cache, rseq.
	 */
	if (test_thread_flag(TIF_NOTIFY_RESUME))
		resume_user_mode_work(current_pt_regs());
	nested_sigmask_settled();
	choose_random_kstack_offset(get_random_u16());
}

/* The codes that ask the arch signal code to restart a system call. */
static bool nested_restart_code(long ret)
{
	switch (ret) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
	case -ERESTART_RESTARTBLOCK:
		return true;
	}
	return false;
}

/*
 * From user space, a call interrupted with a restart code is restarted when
 * no signal is delivered: the interruption was a notification (io_uring's
 * task work), a stop (SIGSTOP, a ptrace interrupt), the freezer, or a
 * wakeup that found nothing to do.  Do the same once that work is done.
 */
static bool nested_should_restart(void)
{
	if (get_signal_nested())
		return false;
	cond_resched();
	return true;
}

static __always_inline long nested_dispatch(struct pt_regs *regs,
					    unsigned int nr)
{
	if (unlikely(nr >= NR_syscalls))
		return -ENOSYS;
	if (arch_lua_syscall_deny[array_index_nospec(nr, NR_syscalls)])
		return -EPERM;
	return arch_lua_syscall(regs, nr);
}

/* Audit is on and a rule is loaded: each call gets a record. */
static bool nested_audited(void)
{
	return audit_enabled && !audit_dummy_context();
}

/*
 * With a record of its own, as a direct call would have, and the outer
 * call's record set aside meanwhile, so that the names the nested call
 * looks up do not land in it.
 */
static long nested_audited_dispatch(struct pt_regs *regs, unsigned int nr,
				    const unsigned long *args,
				    bool restart_block)
{
	struct audit_context *outer;
	long ret;

	outer = audit_nested_syscall_entry(nr, args[0], args[1], args[2],
					   args[3]);
	if (IS_ERR(outer))
		return PTR_ERR(outer);
	if (restart_block)
		ret = current->restart_block.fn(&current->restart_block);
	else
		ret = nested_dispatch(regs, nr);
	audit_nested_syscall_exit(outer, ret);
	return ret;
}

/*
 * The call with its entry work, from seccomp to the exit tracepoint,
 * restarts included; @ran is what a first run of it without entry work
 * returned, a restart code, or 0 if it has not run.  After a seccomp kill,
 * only verdict->ret is meaningful.
 */
static noinline long nested_call_work(struct pt_regs *regs, unsigned int nr,
				      const unsigned long *args,
				      struct seccomp_nested *verdict, long ran)
{
	unsigned long targs[LUA_SYSCALL_NR_ARGS];
	bool restart_block = false;
	long ret = ran;

	for (;;) {
		if (ret)
			goto ran;
		arch_lua_syscall_regs(regs, nr, args);
		if (verdict->in_user_regs)
			arch_lua_syscall_regs(current_pt_regs(), nr, args);
		/* secure_computing_nested() checks it too, but out of line */
		if (unlikely(test_syscall_work(SECCOMP)) &&
		    secure_computing_nested(nr, args, verdict)) {
			if (verdict->killed)
				return verdict->ret;
			ret = verdict->ret;
			break;
		}
		/* A seccomp tracer may have changed the call. */
		if (unlikely(verdict->in_user_regs)) {
			nr = syscall_get_nr(current, current_pt_regs());
			arch_lua_syscall_args(current_pt_regs(), targs);
			args = targs;
			arch_lua_syscall_regs(regs, nr, args);
		}
		nested_trace_enter(regs, nr);
		if (unlikely(nested_audited())) {
			ret = nested_audited_dispatch(regs, nr, args,
						      restart_block);
		} else if (unlikely(restart_block)) {
			ret = current->restart_block.fn(&current->restart_block);
		} else {
			ret = nested_dispatch(regs, nr);
		}
ran:
		if (likely(!nested_restart_code(ret)) ||
		    !nested_should_restart())
			break;
		/* Restarted as from user space: seen to end, then again. */
		nested_trace_exit(regs, ret);
		if (ret == -ERESTART_RESTARTBLOCK) {
			nr = __NR_restart_syscall;
			restart_block = true;
		}
		ret = 0;
	}

	if (unlikely(nested_restart_code(ret))) {
		/* The outer call must not find a restart armed for it. */
		if (ret == -ERESTART_RESTARTBLOCK)
			current->restart_block.fn = do_no_restart_syscall;
		ret = -EINTR;
	}
	nested_trace_exit(regs, ret);
	return ret;
}

/*
 * The call: without entry work (seccomp, ptrace, tracepoints, audit) and
 * unless it is to be restarted, the handler and nothing else.
 */
static __always_inline long nested_call(struct pt_regs *regs, unsigned int nr,
					const unsigned long *args,
					struct seccomp_nested *verdict)
{
	long ret;

	if (unlikely(nested_syscall_work() || verdict->in_user_regs))
		return nested_call_work(regs, nr, args, verdict, 0);
	arch_lua_syscall_regs(regs, nr, args);
	ret = nested_dispatch(regs, nr);
	if (unlikely(nested_restart_code(ret)))
		return nested_call_work(regs, nr, args, verdict, ret);
	/* Tracing that began while the call ran sees it end, as it would. */
	if (unlikely(nested_syscall_work()))
		nested_trace_exit(regs, ret);
	return ret;
}

/*
 * Under a ptrace tracer that stops the task at system calls (PTRACE_SYSCALL,
 * PTRACE_SYSEMU), a nested call stops at its entry and exit as a direct one
 * does, and one that seccomp's RET_TRACE hands to a tracer stops there.
 * The tracer reads and writes the task's user register frame, which
 * belongs to the outer call: for the two stops it holds the nested call's
 * number, arguments and result instead, the tracer's changes to those are
 * taken (a number of -1 skips the call, as for a direct one), and the outer
 * frame is put back afterwards, dropping any other change to it.
 */
static long nested_traced_call(struct pt_regs *regs, unsigned int nr,
			       const unsigned long *args,
			       struct seccomp_nested *verdict)
{
	struct pt_regs *user = current_pt_regs();
	unsigned long targs[LUA_SYSCALL_NR_ARGS];
	struct pt_regs outer = *user;
	long ret;
	int tnr;

	arch_lua_syscall_regs(user, nr, args);
	verdict->in_user_regs = true;
	if (nested_syscall_stops() &&
	    (ptrace_report_syscall_entry(user) ||
	     test_syscall_work(SYSCALL_EMU))) {
		/* killed meanwhile, or emulated by the tracer */
		ret = syscall_get_return_value(current, user);
	} else {
		tnr = syscall_get_nr(current, user);
		arch_lua_syscall_args(user, targs);
		if (tnr < 0)
			ret = syscall_get_return_value(current, user);
		else
			ret = nested_call(regs, tnr, targs, verdict);
		if (unlikely(verdict->killed))
			goto out;
	}
	if (test_syscall_work(SYSCALL_TRACE)) {
		regs_set_return_value(user, ret);
		ptrace_report_syscall_exit(user, 0);
		ret = syscall_get_return_value(current, user);
	}
out:
	*user = outer;
	return ret;
}

/* Before a nested call: 0, or why it is not made. */
static noinline long nested_entry_work(void)
{
	/* A task with a fatal signal pending makes no further system call. */
	if (fatal_signal_pending(current))
		return -EINTR;
	/* A notification since the last call must not look like a signal. */
	if (test_thread_flag(TIF_NOTIFY_SIGNAL) || task_work_pending(current))
		nested_notify_work();
	if (!nested_sigmask_settled())
		return -EINTR;
	if (nested_frame_wanted())
		return -EPERM;
	return 0;
}

/**
 * lua_nested_syscall_frame - the register frame of nested system calls
 * @frame: filled in with a copy of the task's user register frame
 *
 * Once per outer system call, before its first lua_nested_syscall(): the
 * frame (ip, sp, flags...) that tracing sees; each nested call puts its own
 * number and arguments in it.  The allowed system calls only read it.
 */
void lua_nested_syscall_frame(struct pt_regs *frame)
{
	*frame = *current_pt_regs();
}

/**
 * lua_nested_syscall - make a system call on behalf of the current task
 * @regs: its register frame, from lua_nested_syscall_frame()
 * @nr: the system call number
 * @args: its six arguments
 * @verdict: seccomp's verdict; after a kill (@verdict->killed) the caller
 *	must stop at once and, if @verdict->exit_signal is set, do_exit()
 *	with it once it has unwound
 *
 * Runs system call @nr with the entry and exit work of a call from user
 * space, as described at the top of this file, without touching the task's
 * user registers.
 *
 * Context: process context, inside a system call of current, no locks held
 * that the system call or task work could need.
 * Return: what the system call returns, -errno included.
 */
long lua_nested_syscall(struct pt_regs *regs, unsigned int nr,
			const unsigned long *args,
			struct seccomp_nested *verdict)
{
	long ret;

	verdict->killed = false;
	verdict->exit_signal = 0;
	verdict->in_user_regs = false;
	if (unlikely(nested_task_work() || nested_syscall_work())) {
		ret = nested_entry_work();
		if (ret)
			return ret;
	}

	/* Each call its own stack offset, as each call from user space. */
	add_random_kstack_offset();
	if (unlikely(nested_syscall_work()) && nested_ptraced())
		ret = nested_traced_call(regs, nr, args, verdict);
	else
		ret = nested_call(regs, nr, args, verdict);
	if (unlikely(verdict->killed))
		return ret;
	if (unlikely(nested_task_work()))
		nested_exit_work();
	else
		choose_random_kstack_offset(get_random_u16());
	return ret;
}
