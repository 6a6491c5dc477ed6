// SPDX-License-Identifier: GPL-2.0-only
/*
 * lua_check: register a script with the kernel's own registration code, in user space.
 *
 * Usage: lua_check [--name NAME] [--level 0|1|2] [--log-size N] FILE ('-': stdin)
 *
 * Calls register_lua_syscall() of the replica (the kernel's SYSCALL body reached through
 * its x64_sys_call(); see check_stub.c for what is not the kernel's) with a struct
 * lua_syscall_reg like an application's: the script's bytes, a log buffer at the given
 * level (default 2, warnings) and size (default LUA_SYSCALL_LOG_MAX, 8192), the name.
 * Prints the log the kernel wrote, exactly, on stdout. Exit status 0 when the kernel
 * accepted the script, 1 when it refused it ("refused: EINVAL" on stderr), 2 on a usage
 * or I/O error; a kernel path the replica does not provide aborts.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lua_syscall.h"	/* the series' uapi header, from the snapshot */
#include "native.h"

long nc_on_stack(long (*fn)(void *), void *arg, void *top);
void nc_check_user_add(const void *p, unsigned long len);
long nc_check_register(void *reg, unsigned long size);

_Static_assert(sizeof(struct lua_syscall_reg) == LUA_SYSCALL_REG_SIZE_VER0,
	       "struct lua_syscall_reg");

static void usage(void)
{
	fprintf(stderr, "usage: lua_check [--name NAME] [--level 0|1|2] [--log-size N] FILE\n");
	exit(2);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 4096, n = 0, got;
	char *buf = malloc(cap);

	if (!f || !buf) {
		fprintf(stderr, "lua_check: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf) {
				fprintf(stderr, "lua_check: out of memory\n");
				exit(2);
			}
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "lua_check: %s: read error\n", path);
		exit(2);
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

struct call {
	struct lua_syscall_reg *reg;
	long ret;
};

static long do_register(void *p)
{
	struct call *c = p;

	c->ret = nc_check_register(c->reg, sizeof(*c->reg));
	return 0;
}

int main(int argc, char **argv)
{
	struct lua_syscall_reg reg;
	const char *name = NULL, *path = NULL, *errname;
	unsigned int level = LUA_SYSCALL_LOG_WARNINGS, log_size = 8192;
	struct call call = { .reg = &reg };
	unsigned long gs = 1;
	char *script, *log;
	size_t len, tsize;
	char *region;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--level") && i + 1 < argc)
			level = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--log-size") && i + 1 < argc)
			log_size = strtoul(argv[++i], NULL, 0);
		else if (!path && (argv[i][0] != '-' || !strcmp(argv[i], "-")))
			path = argv[i];
		else
			usage();
	}
	if (!path || !log_size)
		usage();

	/* %gs:pcpu_hot must be pcpu_hot: the kernel objects reach per-CPU data through %gs. */
	if (syscall(SYS_arch_prctl, ARCH_GET_GS, &gs) || gs != 0) {
		fprintf(stderr, "lua_check: the GS base is not 0: per-CPU data would be elsewhere\n");
		return 2;
	}
	script = read_all(path, &len);
	log = calloc(1, log_size);
	if (!log)
		return 2;

	/* The task's stack: THREAD_SIZE bytes aligned to THREAD_SIZE, its frame at the top. */
	tsize = nc_thread_size();
	region = aligned_alloc(tsize, 4 * tsize);
	if (!region)
		return 2;
	memset(region, 0, 4 * tsize);
	nc_kernel_init(region + 3 * tsize, 2, 1);

	memset(&reg, 0, sizeof(reg));
	reg.script = (uintptr_t)script;
	reg.script_len = len;
	reg.log_level = level;
	if (level) {
		reg.log_buf = (uintptr_t)log;
		reg.log_size = log_size;
	}
	reg.name = (uintptr_t)name;
	/* The user memory the kernel may touch: the registration's buffers, nothing else. */
	nc_check_user_add(&reg, sizeof(reg));
	nc_check_user_add(script, len);
	nc_check_user_add(log, log_size);
	if (name)
		nc_check_user_add(name, strlen(name) + 1);

	nc_on_stack(do_register, &call, (char *)nc_user_regs() - 64);

	fwrite(log, 1, strnlen(log, log_size), stdout);
	fflush(stdout);
	if (call.ret >= 0)
		return 0;
	errname = strerrorname_np(-call.ret);
	if (errname)
		fprintf(stderr, "refused: %s\n", errname);
	else
		fprintf(stderr, "refused: errno %ld\n", -call.ret);
	return 1;
}
