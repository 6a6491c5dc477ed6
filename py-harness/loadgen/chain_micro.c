// SPDX-License-Identifier: GPL-2.0
/*
 * chain_micro: chains of system calls whose next call depends on the last result, for
 * which no batched system call exists, as one JSON object.
 *
 *   dirwalk     a du -b of a tree the program builds (-D directories of -F files, each
 *               with a subdirectory of F/4 files): getdents64, then a newfstatat
 *               (AT_SYMLINK_NOFOLLOW) of every entry, openat of every subdirectory and
 *               recursion; total bytes, files, directories and the sum of the inode
 *               numbers of every entry seen
 *   smallfiles  -N files of 100..4000 bytes read whole: openat, fstat, read(st_size),
 *               close, as a static file server does
 *
 * paths:
 *
 *   direct        every call from user space
 *   uring         dirwalk: getdents64 direct, then one io_uring_enter() for the statx of
 *                 all the entries it returned (getdents64 is no io_uring op in 6.12), the
 *                 subdirectories opened and closed directly; smallfiles: per batch of -B
 *                 files one io_uring_enter() of a linked chain per file, statx(dirfd,
 *                 name) -> openat into a fixed-file slot -> read of the slot's whole
 *                 capacity (the chain cannot pass statx's size on) => close of the slot
 *                 (hard link: a read shorter than asked for breaks a soft link)
 *   uring_nostat  smallfiles: openat -> read of the size known beforehand => close, per
 *                 batch of -B files (a server with a metadata cache; no stat at all)
 *   uring_all     smallfiles: as uring, all N files in one io_uring_enter()
 *   lua_dir       dirwalk: one lua_syscall() per directory; the script opens it, reads it
 *                 with sys.getdents64, parses the linux_dirent64 records with mem.get*,
 *                 sys.newfstatat's every entry, opens the subdirectories and returns their
 *                 descriptors (the caller passes each to the next lua_syscall())
 *   lua_tree      dirwalk: the whole walk in one lua_syscall(), a stack of directory
 *                 descriptors in the script
 *   lua_tree_unpack  dirwalk: as lua_tree, the records and the stat buffer decoded with
 *                 string.unpack over one mem.read each instead of a mem.get* per field
 *   lua           smallfiles: one lua_syscall() per batch of -B files (openat, fstat,
 *                 read, close each; the lengths written to the caller's array)
 *   lua_all       smallfiles: all N files in one lua_syscall()
 *
 * Each figure is the best of -r rounds of -n operations (one walk of the tree; one pass
 * over the N files), in ns per operation; every operation is timed on its own and checked
 * outside the timed stretch, so that a broken path cannot report a fast time: a walk's
 * totals must equal the tree's as built, and every file's length and bytes the file's
 * (every buffer is cleared before the next pass).  Crossings per operation are counted
 * (every direct call, io_uring_enter() and lua_syscall()); a lua path's nested calls come
 * from the state's fdinfo and must equal the direct path's calls (the same chain).  The
 * uring paths' statx are always punted to io-wq worker threads (REQ_F_FORCE_ASYNC), so
 * part of their work runs on another thread: "uring_workers" counts io-wq threads after
 * each uring path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lua_syscall_user.h"

#define MAX_DEPTH 8
#define DBUF 16384			/* getdents64 buffer per depth */
#define MAX_ENTRIES (DBUF / 24 + 1)	/* linux_dirent64 records are at least 24 bytes */
#define MAX_SUB 64			/* subdirectories one lua_dir call may return */
#define MAX_SMALL 256
#define SLOT 4096			/* a small file's buffer; the files are <= 4000 bytes */
#define RING 1024
#define NAME_STRIDE 16
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC)
/*
 * O_NONBLOCK (no effect on a regular file's read(2)) lets io_uring issue reads inline on
 * tmpfs, which has no FMODE_NOWAIT (see io_micro.c); every path opens with the same
 * flags.  A fixed-file slot refuses O_CLOEXEC.
 */
#define FILE_FLAGS (O_RDONLY | O_NONBLOCK)

static long iterations = 50;
static int rounds = 3;
static int ndirs = 8, nfiles = 32, nsmall = 64, batch = 16;
static int no_lua;

static uint64_t crossings;	/* user/kernel crossings made by the paths */

struct totals {
	uint64_t bytes, files, dirs, inosum;
};

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static char tree_root[512];
static struct totals tree_want;
static int small_dfd;
static char small_names[MAX_SMALL][NAME_STRIDE];
static size_t small_size[MAX_SMALL];
static uint8_t *small_data;	/* what each file holds, SLOT bytes apart */
static uint8_t *small_buf;	/* where the paths read to, SLOT bytes apart */
static uint64_t small_len[MAX_SMALL];
static uint64_t small_bytes, small_fnv;
static struct io_uring ring;
static int lua_dir_fd, lua_tree_fd, lua_tree_unpack_fd, lua_small_fd;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void fail(const char *fmt, long a, long b)
{
	fprintf(stderr, "chain_micro: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int is_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

static long lua_call(int fd, const uint64_t *args, unsigned int n, const char *what)
{
	long r = lua_syscall(fd, args, n);

	crossings++;
	if (r < 0) {
		char msg[300];
		int e = errno;

		lua_syscall_last_error(fd, msg, sizeof(msg));
		fprintf(stderr, "chain_micro: lua_syscall (%s): %s: %s\n", what, strerror(e), msg);
		exit(1);
	}
	return r;
}

/* ---- dirwalk ---- */

static char dbuf[MAX_DEPTH][DBUF];
static struct statx stx[MAX_DEPTH][MAX_ENTRIES];

static int open_root(void)
{
	int fd = openat(AT_FDCWD, tree_root, DIR_FLAGS);

	crossings++;
	if (fd < 0)
		die(tree_root);
	return fd;
}

static void walk_direct(int dfd, int depth, struct totals *t)
{
	if (depth >= MAX_DEPTH)
		fail("tree deeper than %ld (%ld)", MAX_DEPTH, depth);
	t->dirs++;
	for (;;) {
		ssize_t n = getdents64(dfd, dbuf[depth], DBUF);

		crossings++;
		if (n < 0)
			die("getdents64");
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n; ) {
			struct linux_dirent64 *de = (void *)(dbuf[depth] + off);
			struct stat st;

			off += de->d_reclen;
			if (is_dot(de->d_name))
				continue;
			crossings++;
			if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
				die("newfstatat");
			t->inosum += st.st_ino;
			if (S_ISDIR(st.st_mode)) {
				int fd = openat(dfd, de->d_name, DIR_FLAGS);

				crossings++;
				if (fd < 0)
					die("openat (directory)");
				walk_direct(fd, depth + 1, t);
				close(fd);
				crossings++;
			} else if (S_ISREG(st.st_mode)) {
				t->bytes += st.st_size;
				t->files++;
			}
		}
	}
}

static void dirwalk_direct(struct totals *t)
{
	int fd = open_root();

	walk_direct(fd, 0, t);
	close(fd);
	crossings++;
}

/* Submit what is queued and wait for want CQEs; each must have res 0 (statx). */
static void uring_flush_statx(unsigned int want)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0;
	int r;

	if (!want)
		return;
	r = io_uring_submit_and_wait(&ring, want);
	crossings++;
	if (r != (int)want)
		fail("io_uring_submit_and_wait: %ld, want %ld", r, want);
	io_uring_for_each_cqe(&ring, head, cqe) {
		if (cqe->res != 0)
			fail("statx CQE error %ld (entry %ld)", cqe->res, (long)cqe->user_data);
		seen++;
	}
	io_uring_cq_advance(&ring, seen);
	if (seen != want)
		fail("%ld CQEs, want %ld", seen, want);
}

static void walk_uring(int dfd, int depth, struct totals *t)
{
	if (depth >= MAX_DEPTH)
		fail("tree deeper than %ld (%ld)", MAX_DEPTH, depth);
	t->dirs++;
	for (;;) {
		ssize_t n = getdents64(dfd, dbuf[depth], DBUF);
		unsigned int k = 0, queued = 0;

		crossings++;
		if (n < 0)
			die("getdents64");
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n; ) {
			struct linux_dirent64 *de = (void *)(dbuf[depth] + off);
			struct io_uring_sqe *sqe;

			off += de->d_reclen;
			if (is_dot(de->d_name))
				continue;
			sqe = io_uring_get_sqe(&ring);
			if (!sqe) {
				uring_flush_statx(queued);
				queued = 0;
				sqe = io_uring_get_sqe(&ring);
			}
			io_uring_prep_statx(sqe, dfd, de->d_name, AT_SYMLINK_NOFOLLOW,
					    STATX_TYPE | STATX_MODE | STATX_INO | STATX_SIZE,
					    &stx[depth][k]);
			sqe->user_data = k;
			k++;
			queued++;
		}
		uring_flush_statx(queued);
		/* the names are still in dbuf[depth]: walk them again for the subdirectories */
		k = 0;
		for (ssize_t off = 0; off < n; ) {
			struct linux_dirent64 *de = (void *)(dbuf[depth] + off);
			struct statx *sx;

			off += de->d_reclen;
			if (is_dot(de->d_name))
				continue;
			sx = &stx[depth][k++];
			t->inosum += sx->stx_ino;
			if (S_ISDIR(sx->stx_mode)) {
				int fd = openat(dfd, de->d_name, DIR_FLAGS);

				crossings++;
				if (fd < 0)
					die("openat (directory)");
				walk_uring(fd, depth + 1, t);
				close(fd);
				crossings++;
			} else if (S_ISREG(sx->stx_mode)) {
				t->bytes += sx->stx_size;
				t->files++;
			}
		}
	}
}

static void dirwalk_uring(struct totals *t)
{
	int fd = open_root();

	walk_uring(fd, 0, t);
	close(fd);
	crossings++;
}

/*
 * lua_dir's result: the directory's own totals and the descriptors of its subdirectories
 * (opened by the script), which the caller walks next.
 */
struct lua_dir_out {
	uint64_t bytes, files, inosum, nsub;
	uint64_t subfd[MAX_SUB];
};

static void walk_lua(int pfd, const char *name, int depth, struct totals *t)
{
	struct lua_dir_out out;
	struct stat st;
	uint64_t args[8] = { (uint64_t)(int64_t)pfd, (uintptr_t)name, (uintptr_t)dbuf[depth],
			     DBUF, (uintptr_t)&st, (uintptr_t)&out, MAX_SUB };

	if (depth >= MAX_DEPTH)
		fail("tree deeper than %ld (%ld)", MAX_DEPTH, depth);
	out.nsub = ~0ull;
	lua_call(lua_dir_fd, args, 7, "dirwalk, per directory");
	if (out.nsub > MAX_SUB)
		fail("the script returned %ld subdirectories (max %ld)", (long)out.nsub, MAX_SUB);
	t->dirs++;
	t->bytes += out.bytes;
	t->files += out.files;
	t->inosum += out.inosum;
	for (uint64_t i = 0; i < out.nsub; i++)
		walk_lua((int)out.subfd[i], NULL, depth + 1, t);	/* the script closes it */
}

static void dirwalk_lua_dir(struct totals *t)
{
	walk_lua(AT_FDCWD, tree_root, 0, t);
}

static void dirwalk_lua_tree(struct totals *t)
{
	struct stat st;
	uint64_t out[4] = { 0 };
	uint64_t args[5] = { (uintptr_t)tree_root, (uintptr_t)dbuf[0], DBUF, (uintptr_t)&st,
			     (uintptr_t)out };

	lua_call(lua_tree_fd, args, 5, "dirwalk, whole tree");
	t->bytes = out[0];
	t->files = out[1];
	t->dirs = out[2];
	t->inosum = out[3];
}

static void dirwalk_lua_tree_unpack(struct totals *t)
{
	struct stat st;
	uint64_t out[4] = { 0 };
	uint64_t args[5] = { (uintptr_t)tree_root, (uintptr_t)dbuf[0], DBUF, (uintptr_t)&st,
			     (uintptr_t)out };

	lua_call(lua_tree_unpack_fd, args, 5, "dirwalk, whole tree, string.unpack");
	t->bytes = out[0];
	t->files = out[1];
	t->dirs = out[2];
	t->inosum = out[3];
}

/* ---- smallfiles ---- */

static long small_direct(void)
{
	long total = 0;

	for (int i = 0; i < nsmall; i++) {
		struct stat st;
		ssize_t r;
		int fd = openat(small_dfd, small_names[i], FILE_FLAGS | O_CLOEXEC);

		if (fd < 0)
			die("openat");
		/* the fstat system call itself, as the script's sys.fstat (glibc's fstat()
		 * would make newfstatat(fd, "", AT_EMPTY_PATH)) */
		if (syscall(SYS_fstat, fd, &st))
			die("fstat");
		if (st.st_size > SLOT)
			fail("file %ld has %ld bytes", i, st.st_size);
		r = read(fd, small_buf + (size_t)i * SLOT, st.st_size);
		if (r < 0)
			die("read");
		close(fd);
		crossings += 4;
		small_len[i] = r;
		total += r;
	}
	return total;
}

/* One io_uring_enter() for the chains of files [first, first + n). */
static long uring_files(int first, int n, int with_stat)
{
	static struct statx sx[MAX_SMALL];
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0, want = n * (with_stat ? 4 : 3);
	long total = 0;
	int r;

	for (int i = first; i < first + n; i++) {
		unsigned int slot = i - first;
		uint64_t tag = (uint64_t)i << 2;
		struct io_uring_sqe *sqe;

		if (with_stat) {
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_statx(sqe, small_dfd, small_names[i], AT_SYMLINK_NOFOLLOW,
					    STATX_SIZE, &sx[i]);
			sqe->flags |= IOSQE_IO_LINK;
			sqe->user_data = tag | 0;
		}
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_openat_direct(sqe, small_dfd, small_names[i], FILE_FLAGS, 0, slot);
		sqe->flags |= IOSQE_IO_LINK;
		sqe->user_data = tag | 1;
		sqe = io_uring_get_sqe(&ring);
		/* with statx the chain cannot pass the size on: read the slot's capacity */
		io_uring_prep_read(sqe, slot, small_buf + (size_t)i * SLOT,
				   with_stat ? SLOT : small_size[i], 0);
		sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
		sqe->user_data = tag | 2;
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_close_direct(sqe, slot);
		sqe->user_data = tag | 3;
	}
	r = io_uring_submit_and_wait(&ring, want);
	crossings++;
	if (r != (int)want)
		fail("io_uring_submit_and_wait: %ld, want %ld", r, want);
	io_uring_for_each_cqe(&ring, head, cqe) {
		int i = cqe->user_data >> 2, step = cqe->user_data & 3;

		if (i < first || i >= first + n)
			fail("CQE for file %ld, step %ld: not this batch's", i, step);
		if (step == 2) {
			if (cqe->res < 0)
				fail("read CQE error %ld (file %ld)", cqe->res, i);
			small_len[i] = cqe->res;
			total += cqe->res;
		} else if (cqe->res != 0) {
			fail("CQE error %ld (step %ld)", cqe->res, step);
		}
		seen++;
	}
	io_uring_cq_advance(&ring, seen);
	if (seen != want)
		fail("%ld CQEs, want %ld", seen, want);
	if (with_stat)
		for (int i = first; i < first + n; i++)
			if (sx[i].stx_size != small_len[i])
				fail("file %ld: statx says %ld bytes", i, (long)sx[i].stx_size);
	return total;
}

static long small_uring(void)
{
	long total = 0;

	for (int i = 0; i < nsmall; i += batch)
		total += uring_files(i, batch, 1);
	return total;
}

static long small_uring_all(void)
{
	return uring_files(0, nsmall, 1);
}

static long small_uring_nostat(void)
{
	long total = 0;

	for (int i = 0; i < nsmall; i += batch)
		total += uring_files(i, batch, 0);
	return total;
}

static long lua_files(int first, int n)
{
	struct stat st;
	uint64_t args[8] = { small_dfd, (uintptr_t)small_names, first, n, (uintptr_t)small_buf,
			     (uintptr_t)&st, (uintptr_t)small_len };

	return lua_call(lua_small_fd, args, 7, "smallfiles");
}

static long small_lua(void)
{
	long total = 0;

	for (int i = 0; i < nsmall; i += batch)
		total += lua_files(i, batch);
	return total;
}

static long small_lua_all(void)
{
	return lua_files(0, nsmall);
}

/* ---- checks ---- */

static uint64_t fnv1a(const uint8_t *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void check_walk(const struct totals *t, const char *how)
{
	if (memcmp(t, &tree_want, sizeof(*t))) {
		fprintf(stderr, "chain_micro: dirwalk %s: %llu bytes, %llu files, %llu dirs, "
			"inode sum %llu; the tree has %llu, %llu, %llu, %llu\n", how,
			(unsigned long long)t->bytes, (unsigned long long)t->files,
			(unsigned long long)t->dirs, (unsigned long long)t->inosum,
			(unsigned long long)tree_want.bytes, (unsigned long long)tree_want.files,
			(unsigned long long)tree_want.dirs, (unsigned long long)tree_want.inosum);
		exit(1);
	}
}

static void check_small(long total)
{
	if (total != (long)small_bytes)
		fail("smallfiles: %ld bytes in all, the files have %ld", total, small_bytes);
	for (int i = 0; i < nsmall; i++) {
		size_t at = (size_t)i * SLOT;

		if (small_len[i] != small_size[i])
			fail("smallfiles: file %ld: %ld bytes", i, small_len[i]);
		if (memcmp(small_buf + at, small_data + at, small_size[i]))
			fail("smallfiles: file %ld: the bytes read differ from the file's (%ld)",
			     i, 0);
	}
}

static uint64_t small_checksum(void)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = 0; i < nsmall; i++)
		h = fnv1a(small_buf + (size_t)i * SLOT, small_len[i], h);
	return h;
}

static void clear_small(void)
{
	memset(small_buf, 0, (size_t)nsmall * SLOT);
	memset(small_len, 0xff, sizeof(small_len));
}

/* ---- timing ---- */

struct result {
	double ns;		/* best of rounds, per operation */
	double crossings;	/* per operation */
	double nested;		/* per operation (lua paths), else -1 */
	int workers;		/* io-wq threads after the path (uring paths), else -1 */
};

/* Threads besides this one: io_uring's io-wq workers. */
static int worker_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = -1;

	if (!d)
		die("/proc/self/task");
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static uint64_t nested_calls(int fd)
{
	struct lua_syscall_info info;

	if (fd <= 0)
		return 0;
	if (lua_syscall_get_info(fd, &info))
		die("lua_syscall_get_info");
	return info.nested_syscalls;
}

static struct result time_walk(void (*fn)(struct totals *), const char *how, int lua_fd,
			       int uring)
{
	struct result res = { 1e18, 0, -1, -1 };
	uint64_t c0 = crossings, n0 = nested_calls(lua_fd);

	for (int r = 0; r < rounds; r++) {
		uint64_t spent = 0;

		for (long i = 0; i < iterations; i++) {
			struct totals t = { 0 };
			uint64_t t0 = now_ns();

			fn(&t);
			spent += now_ns() - t0;
			check_walk(&t, how);
		}
		if ((double)spent / iterations < res.ns)
			res.ns = (double)spent / iterations;
	}
	res.crossings = (double)(crossings - c0) / (iterations * rounds);
	if (lua_fd > 0)
		res.nested = (double)(nested_calls(lua_fd) - n0) / (iterations * rounds);
	if (uring)
		res.workers = worker_threads();
	return res;
}

static struct result time_small(long (*fn)(void), int lua_fd, int uring, uint64_t *sum)
{
	struct result res = { 1e18, 0, -1, -1 };
	uint64_t c0 = crossings, n0 = nested_calls(lua_fd);

	for (int r = 0; r < rounds; r++) {
		uint64_t spent = 0;

		for (long i = 0; i < iterations; i++) {
			uint64_t t0;
			long total;

			clear_small();
			t0 = now_ns();
			total = fn();
			spent += now_ns() - t0;
			check_small(total);
		}
		*sum = small_checksum();
		if (*sum != small_fnv)
			fail("smallfiles: checksum of the bytes read differs from the files' "
			     "(%ld, %ld)", (long)*sum, (long)small_fnv);
		if ((double)spent / iterations < res.ns)
			res.ns = (double)spent / iterations;
	}
	res.crossings = (double)(crossings - c0) / (iterations * rounds);
	if (lua_fd > 0)
		res.nested = (double)(nested_calls(lua_fd) - n0) / (iterations * rounds);
	if (uring)
		res.workers = worker_threads();
	return res;
}

/* ---- setup ---- */

static void add_entry(int fd, struct totals *t, int is_dir, size_t size)
{
	struct stat st;

	if (fstat(fd, &st))
		die("fstat");
	t->inosum += st.st_ino;
	if (is_dir) {
		t->dirs++;
	} else {
		t->files++;
		t->bytes += size;
	}
}

static void write_file(int dfd, const char *name, size_t size, const uint8_t *data,
		       struct totals *t)
{
	static uint8_t pattern[SLOT];
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		die(name);
	if (!data) {
		for (size_t i = 0; i < size; i++)
			pattern[i] = (uint8_t)(i * 13 + size);
		data = pattern;
	}
	if (write(fd, data, size) != (ssize_t)size)
		die("write");
	if (t)
		add_entry(fd, t, 0, size);
	close(fd);
}

static int make_dir(int pfd, const char *name, struct totals *t)
{
	int fd;

	if (mkdirat(pfd, name, 0755))
		die(name);
	fd = openat(pfd, name, DIR_FLAGS);
	if (fd < 0)
		die(name);
	if (t)
		add_entry(fd, t, 1, 0);
	return fd;
}

/* A size in [100, 4000], varied (a multiplicative hash of the file's number). */
static size_t vary(unsigned int n)
{
	return 100 + (size_t)((n * 2654435761u) >> 7) % 3901;
}

static void build_tree(const char *base)
{
	char name[32];
	int root, small;

	root = make_dir(AT_FDCWD, base, NULL);
	snprintf(tree_root, sizeof(tree_root), "%s/tree", base);
	{
		int tfd = make_dir(root, "tree", NULL);

		tree_want.dirs = 1;	/* the root itself: counted by the walk, not stat'ed */
		for (int d = 0; d < ndirs; d++) {
			int dfd, sfd;

			snprintf(name, sizeof(name), "d%02d", d);
			dfd = make_dir(tfd, name, &tree_want);
			for (int f = 0; f < nfiles; f++) {
				snprintf(name, sizeof(name), "f%03d", f);
				write_file(dfd, name, vary(d * 1000 + f), NULL, &tree_want);
			}
			sfd = make_dir(dfd, "sub", &tree_want);
			for (int f = 0; f < nfiles / 4; f++) {
				snprintf(name, sizeof(name), "g%03d", f);
				write_file(sfd, name, vary(d * 1000 + 500 + f), NULL, &tree_want);
			}
			close(sfd);
			close(dfd);
		}
		close(tfd);
	}
	small = make_dir(root, "small", NULL);
	small_data = calloc(MAX_SMALL, SLOT);
	small_buf = calloc(MAX_SMALL, SLOT);
	if (!small_data || !small_buf)
		die("calloc");
	small_fnv = 0xcbf29ce484222325ull;
	for (int i = 0; i < nsmall; i++) {
		uint8_t *p = small_data + (size_t)i * SLOT;

		snprintf(small_names[i], NAME_STRIDE, "f%03d", i);
		small_size[i] = vary(7777 + i);
		for (size_t k = 0; k < small_size[i]; k++)
			p[k] = (uint8_t)(k * 7 + i * 31 + 1);
		write_file(small, small_names[i], small_size[i], p, NULL);
		small_bytes += small_size[i];
		small_fnv = fnv1a(p, small_size[i], small_fnv);
	}
	small_dfd = small;
	close(root);
}

static int must_register(const char *script)
{
	int fd = register_lua_syscall(script);

	if (fd < 0)
		die("register_lua_syscall");
	return fd;
}

/* Parsing one directory, shared by both dirwalk scripts: dfd, the getdents64 buffer. */
#define LUA_DIR_LOOP							\
	"    while true do\n"						\
	"      local n = getdents(dfd, buf, size)\n"			\
	"      if n < 0 then close(dfd) return n end\n"			\
	"      if n == 0 then break end\n"				\
	"      local off = 0\n"						\
	"      while off < n do\n"					\
	"        local nm = buf + off + %zu\n"				\
	"        off = off + get16(buf + off + %zu)\n"			\
	"        if get8(nm) ~= 46 or (get8(nm + 1) ~= 0 and\n"		\
	"            (get8(nm + 1) ~= 46 or get8(nm + 2) ~= 0)) then\n"	\
	"          local r = fstatat(dfd, nm, st, %d)\n"		\
	"          if r < 0 then close(dfd) return r end\n"		\
	"          ino = ino + get64(st + %zu)\n"			\
	"          local fmt = get32(st + %zu) & %d\n"			\
	"          if fmt == %d then\n"					\
	"            local fd = openat(dfd, nm, %d, 0)\n"		\
	"            if fd < 0 then close(dfd) return fd end\n"		\
	"            SUBDIR\n"						\
	"          elseif fmt == %d then\n"				\
	"            bytes = bytes + get64(st + %zu)\n"			\
	"            files = files + 1\n"				\
	"          end\n"						\
	"        end\n"							\
	"      end\n"							\
	"    end\n"							\
	"    close(dfd)\n"

/* The same with string.unpack over mem.read: one copy per getdents64 chunk, one per stat. */
#define LUA_DIR_LOOP_UNPACK						\
	"    while true do\n"						\
	"      local n = getdents(dfd, buf, size)\n"			\
	"      if n < 0 then close(dfd) return n end\n"			\
	"      if n == 0 then break end\n"				\
	"      local s = read(buf, n)\n"					\
	"      local off = 0\n"						\
	"      while off < n do\n"					\
	"        local p = off + %zu\n"					\
	"        local c0, c1, c2 = byte(s, p + 1, p + 3)\n"		\
	"        local reclen = unpack('<I2', s, off + %zu)\n"		\
	"        if c0 ~= 46 or (c1 ~= 0 and (c1 ~= 46 or c2 ~= 0)) then\n"	\
	"          local r = fstatat(dfd, buf + p, st, %d)\n"		\
	"          if r < 0 then close(dfd) return r end\n"		\
	"          local i, m, sz = unpack('%s', read(st + %zu, %zu))\n"	\
	"          ino = ino + i\n"					\
	"          local fmt = m & %d\n"					\
	"          if fmt == %d then\n"					\
	"            local fd = openat(dfd, buf + p, %d, 0)\n"		\
	"            if fd < 0 then close(dfd) return fd end\n"		\
	"            SUBDIR\n"						\
	"          elseif fmt == %d then\n"				\
	"            bytes = bytes + sz\n"					\
	"            files = files + 1\n"				\
	"          end\n"						\
	"        end\n"							\
	"        off = off + reclen\n"					\
	"      end\n"							\
	"    end\n"							\
	"    close(dfd)\n"

#define LUA_LOCALS							\
	"local getdents, fstatat, openat, close = sys.getdents64, sys.newfstatat, "	\
	"sys.openat, sys.close\n"					\
	"local get8, get16, get32, get64, put64 = mem.get8, mem.get16, mem.get32, "	\
	"mem.get64, mem.put64\n"						\
	"local read, unpack, byte = mem.read, string.unpack, string.byte\n"

static void subst(char *script, size_t size, const char *marker, const char *with)
{
	char *at = strstr(script, marker);
	size_t ml = strlen(marker), wl = strlen(with), rest;

	if (!at)
		fail("no marker in a script (%ld, %ld)", 0, 0);
	rest = strlen(at + ml) + 1;
	if (strlen(script) - ml + wl + 1 > size)
		fail("script too long (%ld > %ld)", (long)(strlen(script) - ml + wl), size);
	memmove(at + wl, at + ml, rest);
	memcpy(at, with, wl);
}

/* the whole tree per call: (root path, buf, size, stat buf, out) */
static int register_tree(const char *loop)
{
	static char script[8192];

	snprintf(script, sizeof(script),
		 LUA_LOCALS
		 "return function(root, buf, size, st, out)\n"
		 "  local bytes, files, dirs, ino = 0, 0, 0, 0\n"
		 "  local top = openat(%d, root, %d, 0)\n"
		 "  if top < 0 then return top end\n"
		 "  local stack, sp = { top }, 1\n"
		 "  while sp > 0 do\n"
		 "    local dfd = stack[sp]\n"
		 "    stack[sp] = nil\n"
		 "    sp = sp - 1\n"
		 "    dirs = dirs + 1\n"
		 "%s"
		 "  end\n"
		 "  put64(out, bytes)\n"
		 "  put64(out + 8, files)\n"
		 "  put64(out + 16, dirs)\n"
		 "  put64(out + 24, ino)\n"
		 "  return 0\n"
		 "end\n", AT_FDCWD, DIR_FLAGS, loop);
	subst(script, sizeof(script), "SUBDIR",
	      "sp = sp + 1\n"
	      "            stack[sp] = fd");
	return must_register(script);
}

static void register_scripts(void)
{
	static char script[8192], loop[4096], unpack_loop[4096], fmt[128];

	snprintf(loop, sizeof(loop), LUA_DIR_LOOP, offsetof(struct linux_dirent64, d_name),
		 offsetof(struct linux_dirent64, d_reclen), AT_SYMLINK_NOFOLLOW,
		 offsetof(struct stat, st_ino), offsetof(struct stat, st_mode), S_IFMT, S_IFDIR,
		 DIR_FLAGS, S_IFREG, offsetof(struct stat, st_size));

	/* the stat fields st_ino < st_mode < st_size (x86-64 and the generic layout) */
	{
		size_t ino = offsetof(struct stat, st_ino), mode = offsetof(struct stat, st_mode);
		size_t sz = offsetof(struct stat, st_size);
		char *f = fmt;

		f += sprintf(f, "<I8");
		for (size_t k = ino + 8; k < mode; k++)
			*f++ = 'x';
		f += sprintf(f, "I4");
		for (size_t k = mode + 4; k < sz; k++)
			*f++ = 'x';
		sprintf(f, "I8");
		snprintf(unpack_loop, sizeof(unpack_loop), LUA_DIR_LOOP_UNPACK,
			 offsetof(struct linux_dirent64, d_name),
			 offsetof(struct linux_dirent64, d_reclen) + 1, AT_SYMLINK_NOFOLLOW, fmt,
			 ino, sz + 8 - ino, S_IFMT, S_IFDIR, DIR_FLAGS, S_IFREG);
	}

	/* one directory per call: (parent fd, name or 0, buf, size, stat buf, out, cap) */
	snprintf(script, sizeof(script),
		 LUA_LOCALS
		 "return function(pfd, name, buf, size, st, out, cap)\n"
		 "    local dfd = pfd\n"
		 "    if name ~= 0 then\n"
		 "      dfd = openat(pfd, name, %d, 0)\n"
		 "      if dfd < 0 then return dfd end\n"
		 "    end\n"
		 "    local bytes, files, ino, nsub = 0, 0, 0, 0\n"
		 "%s"
		 "    put64(out, bytes)\n"
		 "    put64(out + 8, files)\n"
		 "    put64(out + 16, ino)\n"
		 "    put64(out + 24, nsub)\n"
		 "    return 0\n"
		 "end\n", DIR_FLAGS, loop);
	subst(script, sizeof(script), "SUBDIR",
	      "if nsub == cap then close(fd) close(dfd) return -7 end\n"
	      "            put64(out + 32 + 8 * nsub, fd)\n"
	      "            nsub = nsub + 1");
	lua_dir_fd = must_register(script);

	lua_tree_fd = register_tree(loop);
	lua_tree_unpack_fd = register_tree(unpack_loop);

	/* files [first, first + n): (dirfd, names, first, n, bufs, stat buf, lengths) */
	snprintf(script, sizeof(script),
		 "local openat, fstat, read, close = sys.openat, sys.fstat, sys.read, sys.close\n"
		 "local get64, put64 = mem.get64, mem.put64\n"
		 "return function(dfd, names, first, n, bufs, st, lens)\n"
		 "  local total = 0\n"
		 "  for i = first, first + n - 1 do\n"
		 "    local fd = openat(dfd, names + i * %d, %d, 0)\n"
		 "    if fd < 0 then return fd end\n"
		 "    local r = fstat(fd, st)\n"
		 "    if r < 0 then close(fd) return r end\n"
		 "    local size = get64(st + %zu)\n"
		 "    if size > %d then close(fd) return -27 end\n"
		 "    r = read(fd, bufs + i * %d, size)\n"
		 "    close(fd)\n"
		 "    if r < 0 then return r end\n"
		 "    put64(lens + i * 8, r)\n"
		 "    total = total + r\n"
		 "  end\n"
		 "  return total\n"
		 "end\n", NAME_STRIDE, FILE_FLAGS | O_CLOEXEC, offsetof(struct stat, st_size), SLOT,
		 SLOT);
	lua_small_fd = must_register(script);
}

static void setup(const char *dir)
{
	char base[512];
	int r;

	snprintf(base, sizeof(base), "%s/chain_micro.XXXXXX", dir);
	if (!mkdtemp(base))
		die(base);
	/* mkdtemp made it; build_tree makes it again below it */
	strncat(base, "/t", sizeof(base) - strlen(base) - 1);
	build_tree(base);

	r = io_uring_queue_init(RING, &ring, 0);
	if (r < 0) {
		errno = -r;
		die("io_uring_queue_init");
	}
	r = io_uring_register_files_sparse(&ring, MAX_SMALL);
	if (r < 0) {
		errno = -r;
		die("io_uring_register_files_sparse");
	}
	if (!no_lua)
		register_scripts();
}

static void print_result(const char *name, const struct result *r, int first)
{
	printf("%s\"%s\": {\"ns\": %.1f, \"crossings\": %.2f", first ? "" : ", ", name, r->ns,
	       r->crossings);
	if (r->nested >= 0)
		printf(", \"nested\": %.2f", r->nested);
	if (r->workers >= 0)
		printf(", \"uring_workers\": %d", r->workers);
	printf("}");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(struct totals *);
		int lua, uring;
	} walks[] = {
		{ "direct", dirwalk_direct, 0, 0 },
		{ "uring", dirwalk_uring, 0, 1 },
		{ "lua_dir", dirwalk_lua_dir, 1, 0 },
		{ "lua_tree", dirwalk_lua_tree, 2, 0 },
		{ "lua_tree_unpack", dirwalk_lua_tree_unpack, 3, 0 },
	};
	static const struct {
		const char *name;
		long (*fn)(void);
		int lua, uring;
	} smalls[] = {
		{ "direct", small_direct, 0, 0 },
		{ "uring", small_uring, 0, 1 },
		{ "uring_all", small_uring_all, 0, 1 },
		{ "uring_nostat", small_uring_nostat, 0, 1 },
		{ "lua", small_lua, 1, 0 },
		{ "lua_all", small_lua_all, 1, 0 },
	};
	const char *dir = "/tmp";
	struct result direct_walk = { 0 }, direct_small = { 0 };
	uint64_t sum = 0;
	int opt;

	while ((opt = getopt(argc, argv, "n:r:D:F:N:B:d:L")) != -1) {
		if (opt == 'n')
			iterations = atol(optarg);
		else if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 'D')
			ndirs = atoi(optarg);
		else if (opt == 'F')
			nfiles = atoi(optarg);
		else if (opt == 'N')
			nsmall = atoi(optarg);
		else if (opt == 'B')
			batch = atoi(optarg);
		else if (opt == 'd')
			dir = optarg;
		else if (opt == 'L')
			no_lua = 1;
		else
			return 2;
	}
	if (iterations < 1 || rounds < 1 || ndirs < 1 || ndirs > MAX_SUB || nfiles < 4 ||
	    nfiles > 999 || nsmall < 1 || nsmall > MAX_SMALL || batch < 1 || batch > nsmall ||
	    nsmall % batch || nsmall * 4 > RING) {
		fprintf(stderr, "usage: chain_micro [-n operations] [-r rounds] [-D dirs <= %d] "
			"[-F files per dir 4..999] [-N small files <= %d] [-B batch, divides N] "
			"[-d dir for the files] [-L: no lua_syscall]\n", MAX_SUB, MAX_SMALL);
		return 2;
	}
	setup(dir);
	printf("{\"iterations\": %ld, \"rounds\": %d, \"tree\": {\"dirs\": %llu, \"files\": %llu, "
	       "\"bytes\": %llu, \"entries\": %llu, \"dirs_made\": %d, \"files_per_dir\": %d}, "
	       "\"small\": {\"files\": %d, \"bytes\": %llu, \"batch\": %d, \"fnv1a\": \"%016llx\"}",
	       iterations, rounds, (unsigned long long)tree_want.dirs,
	       (unsigned long long)tree_want.files, (unsigned long long)tree_want.bytes,
	       (unsigned long long)(tree_want.files + tree_want.dirs - 1), ndirs, nfiles, nsmall,
	       (unsigned long long)small_bytes, batch, (unsigned long long)small_fnv);
	printf(", \"dirwalk\": {");
	for (size_t c = 0; c < sizeof(walks) / sizeof(walks[0]); c++) {
		int lua_fd = (int[]){ 0, lua_dir_fd, lua_tree_fd, lua_tree_unpack_fd }[walks[c].lua];
		struct result r;

		if (no_lua && walks[c].lua) {
			printf(", \"%s\": null", walks[c].name);
			continue;
		}
		r = time_walk(walks[c].fn, walks[c].name, lua_fd, walks[c].uring);
		if (c == 0)
			direct_walk = r;
		/* the same chain: the script's calls are the direct path's */
		if (walks[c].lua && r.nested != direct_walk.crossings) {
			fprintf(stderr, "chain_micro: dirwalk %s: %.2f nested calls per walk, "
				"direct makes %.2f\n", walks[c].name, r.nested,
				direct_walk.crossings);
			return 1;
		}
		print_result(walks[c].name, &r, c == 0);
	}
	printf("}, \"smallfiles\": {");
	for (size_t c = 0; c < sizeof(smalls) / sizeof(smalls[0]); c++) {
		struct result r;

		if (no_lua && smalls[c].lua) {
			printf(", \"%s\": null", smalls[c].name);
			continue;
		}
		r = time_small(smalls[c].fn, smalls[c].lua ? lua_small_fd : 0, smalls[c].uring,
			       &sum);
		if (c == 0)
			direct_small = r;
		if (smalls[c].lua && r.nested != direct_small.crossings) {
			fprintf(stderr, "chain_micro: smallfiles %s: %.2f nested calls per pass, "
				"direct makes %.2f\n", smalls[c].name, r.nested,
				direct_small.crossings);
			return 1;
		}
		print_result(smalls[c].name, &r, c == 0);
	}
	printf("}, \"checksum\": \"%016llx\", \"uring_workers\": %d, \"checked\": true}\n",
	       (unsigned long long)sum, worker_threads());
	return 0;
}
