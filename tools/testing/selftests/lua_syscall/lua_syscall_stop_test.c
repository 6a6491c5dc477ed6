// SPDX-License-Identifier: GPL-2.0-only
/*
 * A stopped script stops: after the instruction budget runs out, a fatal
 * signal, a seccomp kill or a fault in mem.*, no nested system call and no
 * user memory access runs again in that call.  Lua still runs code while
 * it unwinds (__close handlers, and whatever a pcall() that caught the
 * error does next), and a script may hold sys and mem functions in locals:
 * each of those paths tries to write an eventfd and a word of shared
 * memory, and both must stay untouched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "lua_syscall_util.h"
#include "lua_syscall_seccomp.h"

/*
 * args: cause, eventfd, &one, &word, &running.  Every path that runs after
 * the stop adds to the eventfd and stores into word.
 */
static const char stop_script[] =
	"local write, put, getppid = sys.write, mem.put64, sys.getppid\n"
	"local function after(efd, one, word)\n"
	"  for i = 1, 64 do put(word, i); write(efd, one, 8) end\n"
	"end\n"
	"local function spin() while true do end end\n"
	"return function(cause, efd, one, word, running)\n"
	"  local guard <close> = setmetatable({}, { __close = function()\n"
	"    after(efd, one, word)\n"
	"  end })\n"
	"  local guard2 <close> = setmetatable({}, { __close = function()\n"
	"    for i = 1, 8 do pcall(after, efd, one, word) end\n"
	"  end })\n"
	"  put(running, 1)\n"
	"  if cause == 1 or cause == 4 then\n"
	"    pcall(spin)\n"
	"  elseif cause == 2 then\n"
	"    pcall(mem.get64, 0)\n"
	"  elseif cause == 3 then\n"
	"    pcall(getppid)\n"
	"  end\n"
	"  pcall(after, efd, one, word)\n"
	"  after(efd, one, word)\n"
	"  return 0\n"
	"end\n";

enum stop_cause {
	STOP_BUDGET = 1,
	STOP_MEM_FAULT = 2,
	STOP_SECCOMP_KILL = 3,
	STOP_SIGKILL = 4,
};

struct shared {
	__u64 one;
	__u64 word;
	__u64 running;
};

FIXTURE(stop) {
	int fd, efd;
	struct shared *shm;
	struct lua_sysctls sysctls;
};

FIXTURE_SETUP(stop)
{
	self->fd = -1;
	self->efd = -1;
	self->shm = MAP_FAILED;
	if (!lua_syscall_supported())
		SKIP(return, LUA_NOT_SUPPORTED);
	lua_save_sysctls(&self->sysctls);
	self->fd = lua_register(stop_script);
	ASSERT_LE(0, self->fd);
	self->efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, self->efd);
	self->shm = mmap(NULL, sizeof(*self->shm), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->shm);
	self->shm->one = 1;
}

FIXTURE_TEARDOWN(stop)
{
	if (self->fd >= 0) {
		close(self->fd);
		lua_restore_sysctls(&self->sysctls);
	}
	if (self->efd >= 0)
		close(self->efd);
	if (self->shm != MAP_FAILED)
		munmap(self->shm, sizeof(*self->shm));
}

static long stop_call(int fd, int efd, struct shared *shm,
		      enum stop_cause cause)
{
	__u64 args[5] = {
		cause, efd, (uintptr_t)&shm->one, (uintptr_t)&shm->word,
		(uintptr_t)&shm->running,
	};

	return sys_lua_syscall(fd, args, 5, 0);
}

/* Nothing ran after the stop: no eventfd write, no store. */
static void assert_nothing_after(struct __test_metadata *_metadata,
				 int efd, struct shared *shm)
{
	__u64 count = 0;

	ASSERT_EQ(1, shm->running);
	EXPECT_EQ(-1, read(efd, &count, sizeof(count))) {
		TH_LOG("%llu nested write(s) ran after the stop",
		       (unsigned long long)count);
	}
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, shm->word) {
		TH_LOG("mem.put64 ran after the stop");
	}
}

TEST_F(stop, budget)
{
	ASSERT_EQ(0, lua_write_sysctl("insn_limit", 100000));
	/* a state's budget is fixed at registration */
	close(self->fd);
	self->fd = lua_register(stop_script);
	ASSERT_LE(0, self->fd);

	EXPECT_EQ(-1, stop_call(self->fd, self->efd, self->shm, STOP_BUDGET));
	EXPECT_EQ(ETIME, errno);
	assert_nothing_after(_metadata, self->efd, self->shm);
}

TEST_F(stop, mem_fault)
{
	EXPECT_EQ(-1, stop_call(self->fd, self->efd, self->shm,
				STOP_MEM_FAULT));
	EXPECT_EQ(EFAULT, errno);
	assert_nothing_after(_metadata, self->efd, self->shm);
}

#ifdef LUA_AUDIT_ARCH
TEST_F(stop, seccomp_kill)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (install_filter(__NR_getppid, ANY_ARG,
				   SECCOMP_RET_KILL_PROCESS))
			_exit(2);
		stop_call(self->fd, self->efd, self->shm, STOP_SECCOMP_KILL);
		_exit(3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGSYS, WTERMSIG(status));
	assert_nothing_after(_metadata, self->efd, self->shm);
}
#endif

TEST_F(stop, sigkill)
{
	struct timespec pause = { .tv_nsec = 50 * 1000 * 1000 };
	int status, i;
	pid_t pid;

	/* long enough to be killed in the spin, not to end by itself */
	ASSERT_EQ(0, lua_write_sysctl("insn_limit", 1000000000LL));
	close(self->fd);
	self->fd = lua_register(stop_script);
	ASSERT_LE(0, self->fd);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		stop_call(self->fd, self->efd, self->shm, STOP_SIGKILL);
		_exit(3);
	}
	for (i = 0; i < 600; i++) {
		if (__atomic_load_n(&self->shm->running, __ATOMIC_ACQUIRE))
			break;
		nanosleep(&pause, NULL);
	}
	nanosleep(&pause, NULL);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));
	assert_nothing_after(_metadata, self->efd, self->shm);
}

TEST_HARNESS_MAIN
