/* SPDX-License-Identifier: GPL-2.0-only */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM lua_syscall

#if !defined(_TRACE_LUA_SYSCALL_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_LUA_SYSCALL_H

#include <linux/lua_syscall.h>
#include <linux/tracepoint.h>

/*
 * A system call made by a lua_syscall script.  The raw_syscalls and
 * syscalls events see it too, as a call of the task; this one is emitted
 * after it returns, with its result, and says which state made it: its
 * id (lua-id in the fd's fdinfo) and its name, if it was given one.
 */
TRACE_EVENT(lua_syscall_nested,
	    TP_PROTO(u64 state, const char *name, unsigned int nr,
		     const unsigned long *args, long ret),
	    TP_ARGS(state, name, nr, args, ret),
	    TP_STRUCT__entry(__field(u64, state)
			     __string(name, name)
			     __field(unsigned int, nr)
			     __array(unsigned long, args, LUA_SYSCALL_NR_ARGS)
			     __field(long, ret)),
	    TP_fast_assign(__entry->state = state;
			   __assign_str(name);
			   __entry->nr = nr;
			   memcpy(__entry->args, args, sizeof(__entry->args));
			   __entry->ret = ret;),
	    TP_printk("state=%llu name=%s nr=%u args=(%lx, %lx, %lx, %lx, %lx, %lx) ret=%ld",
		      __entry->state, __get_str(name), __entry->nr,
		      __entry->args[0], __entry->args[1], __entry->args[2],
		      __entry->args[3], __entry->args[4], __entry->args[5],
		      __entry->ret)
);

#endif /* _TRACE_LUA_SYSCALL_H */

#include <trace/define_trace.h>
