// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stand-ins for the kernel around the registration replica of `lua-syscall check`.
 *
 * The checker links the kernel's own registration code (kernel/lua/*.c, the x86-64
 * nested-call hook and system call dispatcher), built from the kernel tree with a kernel
 * build's per-file gcc flags (check.py), with native-clock's stand-ins (kstub.c) and
 * these. Built like kstub.c: with the kernel's headers and a kernel object's flags.
 *
 * What differs from native-clock, because a checker runs no script on anyone's behalf:
 *
 *  - user memory is only the registration's own buffers (the struct, the script, the
 *    name and the log buffer, given by the driver): any other address faults, so mem.*
 *    at the top level fails the registration with EFAULT, as for an unmapped address;
 *  - every nested system call returns -ENOSYS (the generated stubs are the kernel's
 *    sys_ni_syscall; kstub.c's getppid() is overridden here), after the kernel's own
 *    checks (the calls the kernel denies are denied as it denies them);
 *  - the out-of-line helpers a debug kernel's config calls (lockdep, KASAN's explicit
 *    checks, might_sleep) are no-ops: the sanitizers' instrumentation is not compiled in.
 */
#include <linux/kasan.h>
#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/lua_syscall.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/syscalls.h>
#include <linux/uaccess.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

/* The driver's interface (check_main.c). */
void nc_check_user_add(const void *p, unsigned long len);
long nc_check_register(void *reg, unsigned long size);
unsigned long nc_check_user_faults;

/* -- user memory: the registration's buffers only ------------------------------------- */

#define NC_USER_RANGES 8
static struct {
	unsigned long start, len;
} nc_user[NC_USER_RANGES];
static int nc_nr_user;

void nc_check_user_add(const void *p, unsigned long len)
{
	if (p && len && nc_nr_user < NC_USER_RANGES) {
		nc_user[nc_nr_user].start = (unsigned long)p;
		nc_user[nc_nr_user].len = len;
		nc_nr_user++;
	}
}

/* Whether [addr, addr + n) lies in one of the buffers. */
static bool nc_user_ok(unsigned long addr, unsigned long n)
{
	int i;

	for (i = 0; i < nc_nr_user; i++)
		if (addr >= nc_user[i].start && n <= nc_user[i].len &&
		    addr - nc_user[i].start <= nc_user[i].len - n)
			return true;
	nc_check_user_faults++;
	return false;
}

unsigned long _copy_from_user(void *to, const void __user *from, unsigned long n)
{
	if (!nc_user_ok((unsigned long)from, n)) {
		memset(to, 0, n);
		return n;
	}
	memcpy(to, (const void __force *)from, n);
	return 0;
}

unsigned long _copy_to_user(void __user *to, const void *from, unsigned long n)
{
	if (!nc_user_ok((unsigned long)to, n))
		return n;
	memcpy((void __force *)to, from, n);
	return 0;
}

void *vmemdup_user(const void __user *src, size_t len)
{
	void *p = kvmalloc(len, GFP_KERNEL);

	if (!p)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(p, src, len)) {
		kvfree(p);
		return ERR_PTR(-EFAULT);
	}
	return p;
}

long strncpy_from_user(char *dst, const char __user *src, long count)
{
	long i;

	for (i = 0; i < count; i++) {
		if (!nc_user_ok((unsigned long)src + i, 1))
			return -EFAULT;
		dst[i] = ((const char __force *)src)[i];
		if (!dst[i])
			return i;
	}
	return count;
}

int check_zeroed_user(const void __user *from, size_t size)
{
	const char *p = (const char __force *)from;
	size_t i;

	if (!nc_user_ok((unsigned long)from, size))
		return -EFAULT;
	for (i = 0; i < size; i++)
		if (p[i])
			return 0;
	return 1;
}

/*
 * get_user() and put_user() call arch/x86/lib/{get,put}user.S's routines, which have a
 * calling convention of their own: __get_user_N takes the address in %rax and returns the
 * error in %rax and the value in %rdx; __put_user_N takes the address in %rcx and the
 * value in %rax, returns the error in %rcx and may clobber %rbx. Everything else is kept.
 */
struct nc_got {
	long err;
	u64 val;
};

struct nc_got nc_check_get_user(unsigned long addr, unsigned long size);
long nc_check_put_user(unsigned long addr, u64 val, unsigned long size);

struct nc_got nc_check_get_user(unsigned long addr, unsigned long size)
{
	struct nc_got r = { .err = -EFAULT };

	if (nc_user_ok(addr, size)) {
		r.err = 0;
		switch (size) {
		case 1: r.val = *(u8 *)addr; break;
		case 2: r.val = *(u16 *)addr; break;
		case 4: r.val = *(u32 *)addr; break;
		default: r.val = *(u64 *)addr; break;
		}
	}
	return r;
}

long nc_check_put_user(unsigned long addr, u64 val, unsigned long size)
{
	if (!nc_user_ok(addr, size))
		return -EFAULT;
	switch (size) {
	case 1: *(u8 *)addr = val; break;
	case 2: *(u16 *)addr = val; break;
	case 4: *(u32 *)addr = val; break;
	default: *(u64 *)addr = val; break;
	}
	return 0;
}

#define NC_GET_USER(n)							\
	"	.globl __get_user_" #n "\n"				\
	"	.type __get_user_" #n ", @function\n"			\
	"__get_user_" #n ":\n"						\
	"	push %rcx; push %rsi; push %rdi; push %r8\n"		\
	"	push %r9; push %r10; push %r11\n"			\
	"	mov %rax, %rdi\n"					\
	"	mov $" #n ", %esi\n"					\
	"	call nc_check_get_user\n"				\
	"	pop %r11; pop %r10; pop %r9; pop %r8\n"			\
	"	pop %rdi; pop %rsi; pop %rcx\n"				\
	"	ret\n"

#define NC_PUT_USER(n)							\
	"	.globl __put_user_" #n "\n"				\
	"	.type __put_user_" #n ", @function\n"			\
	"__put_user_" #n ":\n"						\
	"	push %rax; push %rdx; push %rsi; push %rdi\n"		\
	"	push %r8; push %r9; push %r10; push %r11\n"		\
	"	mov %rcx, %rdi\n"					\
	"	mov %rax, %rsi\n"					\
	"	mov $" #n ", %edx\n"					\
	"	call nc_check_put_user\n"				\
	"	mov %rax, %rcx\n"					\
	"	pop %r11; pop %r10; pop %r9; pop %r8\n"			\
	"	pop %rdi; pop %rsi; pop %rdx; pop %rax\n"		\
	"	ret\n"

asm("	.text\n"
    NC_GET_USER(1) NC_GET_USER(2) NC_GET_USER(4) NC_GET_USER(8)
    NC_PUT_USER(1) NC_PUT_USER(2) NC_PUT_USER(4) NC_PUT_USER(8));

/* -- nested system calls: none runs ---------------------------------------------------- */

/* Replaces kstub.c's getppid(), which would answer: a checker answers no call. */
long __x64_sys_getppid(const struct pt_regs *regs);
long __x64_sys_getppid(const struct pt_regs *regs)
{
	return -ENOSYS;
}

/* -- what kstub.c does not have --------------------------------------------------------- */

void *nc_glue_realloc(void *p, size_t size);
void __noreturn nc_unreachable(const char *what);
int nc_glue_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* The chunk check's growing list (krealloc_array()); nothing asks it to zero. */
void *krealloc_noprof(const void *p, size_t new_size, gfp_t flags)
{
	if (flags & __GFP_ZERO)
		nc_unreachable("krealloc(__GFP_ZERO)");
	if (!new_size) {
		kfree(p);
		return ZERO_SIZE_PTR;
	}
	return nc_glue_realloc((void *)p, new_size);
}

/* lib/vsprintf.c's: the characters written, without the NUL. */
int vscnprintf(char *buf, size_t size, const char *fmt, va_list args)
{
	int i;

	if (unlikely(!size))
		return 0;
	i = nc_glue_vsnprintf(buf, size, fmt, args);
	if (likely(i < size))
		return i;
	return size - 1;
}

/* -- what a debug kernel's config calls out of line ------------------------------------ */

#ifdef CONFIG_LOCKDEP
void lock_acquire(struct lockdep_map *lock, unsigned int subclass, int trylock, int read,
		  int check, struct lockdep_map *nest_lock, unsigned long ip)
{
}

void lock_release(struct lockdep_map *lock, unsigned long ip)
{
}

void lockdep_init_map_type(struct lockdep_map *lock, const char *name,
			   struct lock_class_key *key, int subclass, u8 inner, u8 outer,
			   u8 lock_type)
{
}
#endif

struct lockdep_map rcu_lock_map;

#ifdef CONFIG_DEBUG_LOCK_ALLOC
int debug_lockdep_rcu_enabled(void)
{
	return 0;
}

int rcu_read_lock_held(void)
{
	return 1;
}
#endif

#ifdef CONFIG_TREE_RCU
bool rcu_is_watching(void)
{
	return true;
}
#endif

#ifdef CONFIG_DEBUG_SPINLOCK
void __raw_spin_lock_init(raw_spinlock_t *lock, const char *name, struct lock_class_key *key,
			  short inner)
{
	memset(lock, 0, sizeof(*lock));
}

void do_raw_spin_lock(raw_spinlock_t *lock)
{
	arch_spin_lock(&lock->raw_lock);
}

void do_raw_spin_unlock(raw_spinlock_t *lock)
{
	arch_spin_unlock(&lock->raw_lock);
}
#endif

#ifndef CONFIG_INLINE_SPIN_UNLOCK
void __lockfunc _raw_spin_unlock(raw_spinlock_t *lock)
{
	__raw_spin_unlock(lock);
}
#endif

#ifdef CONFIG_DEBUG_ATOMIC_SLEEP
void __might_sleep(const char *file, int line)
{
}

void __might_resched(const char *file, int line, unsigned int offsets)
{
}
#endif

#if defined(CONFIG_PROVE_LOCKING) || defined(CONFIG_DEBUG_ATOMIC_SLEEP)
void __might_fault(const char *file, int line)
{
}
#endif

#ifdef CONFIG_KASAN
bool __kasan_check_read(const volatile void *p, unsigned int size)
{
	return true;
}

bool __kasan_check_write(const volatile void *p, unsigned int size)
{
	return true;
}

void kasan_unpoison_task_stack_below(const void *watermark)
{
}
#endif

/* -- the driver's call ------------------------------------------------------------------ */

/* register_lua_syscall(reg, size) as do_syscall_64() makes it, from the task's frame. */
long nc_check_register(void *reg, unsigned long size)
{
	struct pt_regs *regs = task_pt_regs(current);

	regs->orig_ax = __NR_register_lua_syscall;
	regs->di = (unsigned long)reg;
	regs->si = size;
	regs->ax = x64_sys_call(regs, __NR_register_lua_syscall);
	return regs->ax;
}
