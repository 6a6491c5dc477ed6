/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The interface between the timing driver (built against the C library) and the kernel
 * side of the lua_syscall replica (built with the kernel's headers): plain C types only.
 */
#ifndef NATIVE_CLOCK_H
#define NATIVE_CLOCK_H

#include <stddef.h>

/* The stand-ins that count their calls, for the driver's per-operation census. */
enum nc_standin {
	NC_FGET,
	NC_FPUT,
	NC_KMALLOC,
	NC_KFREE,
	NC_COPY,
	NC_SPIN_LOCK,
	NC_WAKE_UP_BIT,
	NC_COND_RESCHED,
	NC_RANDOM,
	NC_GETPPID,
	NC_NR_STANDINS
};

#define NC_STANDIN_NAMES { "fget", "fput", "kmalloc", "kfree", "copy_user", \
	"_raw_spin_lock", "wake_up_bit", "__cond_resched", "random/siphash", \
	"__task_pid_nr_ns" }

extern unsigned long nc_calls[NC_NR_STANDINS];

void nc_kernel_init(void *stack, int pid, int ppid);
unsigned long nc_thread_size(void);
void *nc_user_regs(void);
long nc_register(const char *script, size_t len);
long nc_lua_syscall(int fd, const unsigned long long *args, unsigned int nargs);
long nc_getppid(void);
const char *nc_last_error(int fd);

#endif /* NATIVE_CLOCK_H */
