// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stand-ins for the kernel around the lua_syscall replica of `lua-syscall native-clock`.
 *
 * Built with the kernel's headers and the bench kernel's flags (like the kernel objects
 * it links with), so that everything the kernel inlines (current, thread flags, spinlocks,
 * bit locks, the uaccess copy, the seccomp and tracing checks) is the kernel's own code.
 * What is here replaces out-of-line kernel functions: those on the measured paths do the
 * same work in the same shape (fget's table lookup and reference, the lock's atomic, the
 * wake-up's hashed wait queue check, getppid's pointer chase), each counted so that the
 * driver can say which ran per operation; the rest of what the kernel objects call is an
 * abort() stub generated at build time (native_clock.py), so a path this replica does not
 * cover cannot pass unnoticed.
 *
 * Per-CPU data is reached through %gs as in the kernel: in a user process the GS base is 0
 * (the driver checks), so %gs:pcpu_hot is pcpu_hot itself.
 */
#include <linux/anon_inodes.h>
#include <linux/bsearch.h>
#include <linux/capability.h>
#include <linux/cpumask.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/lua_syscall.h>
#include <linux/once.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/syscalls.h>
#include <linux/uaccess.h>
#include <linux/wait_bit.h>
#include <asm/syscall.h>
#include <asm/unistd.h>
#include <uapi/linux/lua_syscall.h>

#include "native.h"

/* The glue to the C library (native_glue.c, realigns the stack for it). */
void *nc_glue_malloc(size_t size);
void *nc_glue_realloc(void *p, size_t size);
void nc_glue_free(void *p);
int nc_glue_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void nc_glue_vprint(const char *fmt, va_list ap);
void __noreturn nc_unreachable(const char *what);

unsigned long nc_calls[NC_NR_STANDINS];
#define NC_COUNT(id)	(nc_calls[(id)]++)

/* -- per-CPU data and the task ------------------------------------------------------- */

DEFINE_PER_CPU_ALIGNED(struct pcpu_hot, pcpu_hot);
DEFINE_PER_CPU_READ_MOSTLY(unsigned long, this_cpu_off);
int audit_enabled;
struct kmem_cache *kmalloc_caches[NR_KMALLOC_TYPES][KMALLOC_SHIFT_HIGH + 1];

static struct task_struct nc_task __aligned(64);
static struct task_struct nc_parent __aligned(64);
static struct signal_struct nc_signal, nc_parent_signal;
static struct pid_namespace nc_pid_ns;
static struct pid nc_pid, nc_parent_pid;

/* -- the file table -------------------------------------------------------------------- */

#define NC_NR_FDS 64
static struct file *nc_fds[NC_NR_FDS];

int get_unused_fd_flags(unsigned int flags)
{
	int fd;

	for (fd = 3; fd < NC_NR_FDS; fd++)
		if (!nc_fds[fd])
			return fd;
	return -EMFILE;
}

void put_unused_fd(unsigned int fd)
{
}

void fd_install(unsigned int fd, struct file *file)
{
	nc_fds[fd] = file;
}

struct file *anon_inode_create_getfile(const char *name, const struct file_operations *fops,
				       void *priv, int flags,
				       const struct inode *context_inode)
{
	struct file *file = nc_glue_malloc(sizeof(*file));

	if (!file)
		return ERR_PTR(-ENOMEM);
	memset(file, 0, sizeof(*file));
	file->f_op = fops;
	file->private_data = priv;
	file->f_flags = flags;
	atomic_long_set(&file->f_count, 1);
	return file;
}

/*
 * fget(): what __fget_files_rcu() does for a present fd: the bounded, speculation-safe
 * table index, a reference taken unless the count is zero, the slot checked again.
 */
struct file *fget(unsigned int fd)
{
	struct file *file;

	NC_COUNT(NC_FGET);
	rcu_read_lock();
	for (;;) {
		if (unlikely(fd >= NC_NR_FDS)) {
			file = NULL;
			break;
		}
		fd = array_index_nospec(fd, NC_NR_FDS);
		file = READ_ONCE(nc_fds[fd]);
		if (unlikely(!file))
			break;
		if (unlikely(!atomic_long_inc_not_zero(&file->f_count)))
			continue;
		if (unlikely(file != READ_ONCE(nc_fds[fd]))) {
			fput(file);
			continue;
		}
		break;
	}
	rcu_read_unlock();
	return file;
}

/* fput(): the reference dropped; the last one (never here) would free the state. */
void fput(struct file *file)
{
	NC_COUNT(NC_FPUT);
	if (unlikely(atomic_long_dec_and_test(&file->f_count)))
		nc_unreachable("the last fput()");
}

/* -- memory ---------------------------------------------------------------------------- */

void *__kmalloc_cache_noprof(struct kmem_cache *s, gfp_t flags, size_t size)
{
	void *p;

	NC_COUNT(NC_KMALLOC);
	p = nc_glue_malloc(size);
	if (p && (flags & __GFP_ZERO))
		memset(p, 0, size);
	return p;
}

void *__kmalloc_noprof(size_t size, gfp_t flags)
{
	return __kmalloc_cache_noprof(NULL, flags, size);
}

void *__kvmalloc_node_noprof(DECL_BUCKET_PARAMS(size, b), gfp_t flags, int node)
{
	return __kmalloc_cache_noprof(NULL, flags, size);
}

void *kvrealloc_noprof(const void *p, size_t size, gfp_t flags)
{
	NC_COUNT(NC_KMALLOC);
	return nc_glue_realloc((void *)p, size);
}

void kfree(const void *p)
{
	NC_COUNT(NC_KFREE);
	nc_glue_free((void *)p);
}

void kvfree(const void *p)
{
	kfree(p);
}

void *vmemdup_user(const void __user *src, size_t len)
{
	void *p = nc_glue_malloc(len);

	if (!p)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(p, src, len)) {
		nc_glue_free(p);
		return ERR_PTR(-EFAULT);
	}
	return p;
}

/* lib/usercopy.c's out-of-line copy, with the kernel's inline raw copy. */
unsigned long _copy_from_user(void *to, const void __user *from, unsigned long n)
{
	unsigned long res = n;

	NC_COUNT(NC_COPY);
	if (likely(access_ok(from, n)))
		res = raw_copy_from_user(to, from, n);
	if (unlikely(res))
		memset(to + (n - res), 0, res);
	return res;
}

unsigned long _copy_to_user(void __user *to, const void *from, unsigned long n)
{
	NC_COUNT(NC_COPY);
	if (likely(access_ok(to, n)))
		n = raw_copy_to_user(to, from, n);
	return n;
}

ssize_t simple_read_from_buffer(void __user *to, size_t count, loff_t *ppos,
				const void *from, size_t available)
{
	loff_t pos = *ppos;

	if (pos < 0)
		return -EINVAL;
	if (pos >= available || !count)
		return 0;
	if (count > available - pos)
		count = available - pos;
	if (copy_to_user(to, from + pos, count))
		return -EFAULT;
	*ppos = pos + count;
	return count;
}

/* -- locks, wait queues, scheduling ---------------------------------------------------- */

/* kernel/locking/spinlock.c's, with the kernel's inline lock. */
void __lockfunc _raw_spin_lock(raw_spinlock_t *lock)
{
	NC_COUNT(NC_SPIN_LOCK);
	__raw_spin_lock(lock);
}

void __init_waitqueue_head(struct wait_queue_head *wq_head, const char *name,
			   struct lock_class_key *key)
{
	spin_lock_init(&wq_head->lock);
	INIT_LIST_HEAD(&wq_head->head);
}

#define NC_WAIT_TABLE_BITS 8
static wait_queue_head_t nc_bit_wait_table[1 << NC_WAIT_TABLE_BITS];

/* kernel/sched/wait_bit.c's: the hashed queue, woken only when someone waits. */
struct wait_queue_head *bit_waitqueue(void *word, int bit)
{
	const int shift = BITS_PER_LONG == 32 ? 5 : 6;
	unsigned long val = (unsigned long)word << shift | bit;

	return nc_bit_wait_table + hash_long(val, NC_WAIT_TABLE_BITS);
}

void wake_up_bit(void *word, int bit)
{
	struct wait_queue_head *wq_head = bit_waitqueue(word, bit);

	NC_COUNT(NC_WAKE_UP_BIT);
	if (waitqueue_active(wq_head))
		nc_unreachable("a waiter on a state's bit lock");
}

int __cond_resched(void)
{
	NC_COUNT(NC_COND_RESCHED);
	return 0;
}

bool capable(int cap)
{
	return true;
}

int ___ratelimit(struct ratelimit_state *rs, const char *func)
{
	return 0;
}

bool __do_once_start(bool *done, unsigned long *flags)
{
	return !*done;
}

void __do_once_done(bool *done, struct static_key_true *once_key, unsigned long *flags,
		    struct module *mod)
{
	*done = true;
}

/* -- randomness and hashing: deterministic stand-ins (not on the measured paths) ------- */

static u64 nc_rand_state = 0x9e3779b97f4a7c15ULL;

u64 get_random_u64(void)
{
	NC_COUNT(NC_RANDOM);
	nc_rand_state ^= nc_rand_state << 13;
	nc_rand_state ^= nc_rand_state >> 7;
	nc_rand_state ^= nc_rand_state << 17;
	return nc_rand_state;
}

u32 get_random_u32(void)
{
	return get_random_u64();
}

void get_random_bytes(void *buf, size_t len)
{
	u8 *p = buf;

	while (len--)
		*p++ = get_random_u64();
}

u64 siphash_1u64(u64 first, const siphash_key_t *key)
{
	NC_COUNT(NC_RANDOM);
	return (first ^ key->key[0]) * 0x9e3779b97f4a7c15ULL + key->key[1];
}

u32 hsiphash_2u32(u32 first, u32 second, const hsiphash_key_t *key)
{
	NC_COUNT(NC_RANDOM);
	return siphash_1u64((u64)first << 32 | second, (const siphash_key_t *)key);
}

/* -- the C library's routines the kernel has under the same names ---------------------- */

void *nc_k_bsearch(const void *key, const void *base, size_t num, size_t size,
		   cmp_func_t cmp);
int nc_k_vsnprintf(char *buf, size_t size, const char *fmt, va_list args);
int nc_k_snprintf(char *buf, size_t size, const char *fmt, ...);

/* lib/bsearch.c's */
void *nc_k_bsearch(const void *key, const void *base, size_t num, size_t size,
		   cmp_func_t cmp)
{
	return __inline_bsearch(key, base, num, size, cmp);
}

int nc_k_vsnprintf(char *buf, size_t size, const char *fmt, va_list args)
{
	return nc_glue_vsnprintf(buf, size, fmt, args);
}

int nc_k_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list args;
	int n;

	va_start(args, fmt);
	n = nc_glue_vsnprintf(buf, size, fmt, args);
	va_end(args);
	return n;
}

ssize_t sized_strscpy(char *dest, const char *src, size_t count)
{
	size_t i;

	if (!count)
		return -E2BIG;
	for (i = 0; i < count; i++) {
		dest[i] = src[i];
		if (!src[i])
			return i;
	}
	dest[count - 1] = 0;
	return -E2BIG;
}

asmlinkage __visible int _printk(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	nc_glue_vprint(printk_skip_level(fmt), args);
	va_end(args);
	return 0;
}

void __warn_printk(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	nc_glue_vprint(fmt, args);
	va_end(args);
}

/* -- getppid(): kernel/sys.c's system call, kernel/pid.c's lookups in our words -------- */

static struct pid_namespace *nc_task_active_pid_ns(struct task_struct *tsk)
{
	return ns_of_pid(task_pid(tsk));
}

static pid_t nc_pid_nr_ns(struct pid *pid, struct pid_namespace *ns)
{
	struct upid *upid;

	if (pid && ns->level <= pid->level) {
		upid = &pid->numbers[ns->level];
		if (upid->ns == ns)
			return upid->nr;
	}
	return 0;
}

static struct pid **nc_task_pid_ptr(struct task_struct *task, enum pid_type type)
{
	return (type == PIDTYPE_PID) ? &task->thread_pid : &task->signal->pids[type];
}

pid_t __task_pid_nr_ns(struct task_struct *task, enum pid_type type, struct pid_namespace *ns)
{
	pid_t nr;

	NC_COUNT(NC_GETPPID);
	rcu_read_lock();
	if (!ns)
		ns = nc_task_active_pid_ns(current);
	nr = nc_pid_nr_ns(rcu_dereference(*nc_task_pid_ptr(task, type)), ns);
	rcu_read_unlock();
	return nr;
}

SYSCALL_DEFINE0(getppid)
{
	int pid;

	rcu_read_lock();
	pid = task_tgid_vnr(rcu_dereference(current->real_parent));
	rcu_read_unlock();
	return pid;
}

SYSCALL_DEFINE0(ni_syscall)
{
	return -ENOSYS;
}

/* -- the driver's interface -------------------------------------------------------------- */

/*
 * The task: its stack is the THREAD_SIZE bytes at stack (aligned to THREAD_SIZE), its user
 * register frame at the top, as the entry code leaves it; pids in one namespace.
 */
void nc_kernel_init(void *stack, int pid, int ppid)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(nc_bit_wait_table); i++)
		init_waitqueue_head(&nc_bit_wait_table[i]);
	nc_task.stack = stack;
	nc_task.signal = &nc_signal;
	nc_task.real_parent = &nc_parent;
	nc_task.thread_pid = &nc_pid;
	nc_parent.signal = &nc_parent_signal;
	nc_parent.thread_pid = &nc_parent_pid;
	nc_pid.numbers[0].nr = pid;
	nc_pid.numbers[0].ns = &nc_pid_ns;
	nc_parent_pid.numbers[0].nr = ppid;
	nc_parent_pid.numbers[0].ns = &nc_pid_ns;
	nc_signal.pids[PIDTYPE_TGID] = &nc_pid;
	nc_parent_signal.pids[PIDTYPE_TGID] = &nc_parent_pid;
	pcpu_hot.current_task = &nc_task;
	pcpu_hot.top_of_stack = (unsigned long)stack + THREAD_SIZE;
}

unsigned long nc_thread_size(void)
{
	return THREAD_SIZE;
}

/* The task's user register frame: where the driver's stack switch must start below. */
void *nc_user_regs(void)
{
	return task_pt_regs(current);
}

/* A system call as do_syscall_64() makes it, from the frame the entry code saved. */
static long nc_syscall(unsigned int nr, unsigned long a0, unsigned long a1,
		       unsigned long a2, unsigned long a3)
{
	struct pt_regs *regs = task_pt_regs(current);

	regs->orig_ax = nr;
	regs->di = a0;
	regs->si = a1;
	regs->dx = a2;
	regs->r10 = a3;
	regs->ax = x64_sys_call(regs, nr);
	return regs->ax;
}

long nc_register(const char *script, size_t len)
{
	struct lua_syscall_reg reg = {
		.script = (unsigned long)script,
		.script_len = len,
	};

	return nc_syscall(__NR_register_lua_syscall, (unsigned long)&reg, sizeof(reg), 0, 0);
}

long nc_lua_syscall(int fd, const unsigned long long *args, unsigned int nargs)
{
	return nc_syscall(__NR_lua_syscall, fd, (unsigned long)args, nargs, 0);
}

long nc_getppid(void)
{
	return nc_syscall(__NR_getppid, 0, 0, 0, 0);
}

/* The last failure's message, as read(fd) would return it. */
const char *nc_last_error(int fd)
{
	static char buf[256];
	struct file *file;
	loff_t pos = 0;
	ssize_t n;

	if (fd < 0 || fd >= NC_NR_FDS || !nc_fds[fd])
		return "(no state)";
	file = nc_fds[fd];
	n = file->f_op->read(file, (char __user *)buf, sizeof(buf) - 1, &pos);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}
