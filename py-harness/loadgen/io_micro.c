// SPDX-License-Identifier: GPL-2.0
/*
 * io_micro: bursts of real I/O system calls, three ways, as one JSON object.
 *
 *   pread   B pread64()s of LEN bytes each from a file in the page cache
 *   sendto  B sendto()s of LEN-byte UDP datagrams to a bound loopback socket
 *
 * each made as
 *
 *   direct  B system calls from user space
 *   lua     one lua_syscall() whose script makes the B calls (sys.pread64, sys.sendto)
 *   uring   B SQEs submitted with one io_uring_enter() (liburing), waiting for B CQEs
 *
 * Each figure is the best of -r rounds of -n bursts, in ns per burst.  Everything a
 * burst does is checked, so that a broken path cannot report a fast time: every call
 * must return LEN, the bytes read must equal the file's, and the receiving socket must
 * get exactly B datagrams per burst, each LEN bytes and tagged with its burst slot.
 * The receiver is drained outside the timed stretches (every DRAIN_EVERY bursts).
 * "uring_workers" counts io_uring's io-wq threads at the end: 0 when every SQE was
 * completed inline, within the io_uring_enter() (else the bursts' work is partly not
 * in the caller's time).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lua_syscall_user.h"

#define MAX_BURST 64
#define DRAIN_EVERY 8

static long iterations = 1000;
static int rounds = 3;
static int burst = 16;
static size_t len = 64;

static int file_fd, tx_fd, rx_fd;
static struct sockaddr_in rx_addr;
static uint8_t *file_data, *rbuf, *sbuf;
static struct io_uring ring;
static int pread_lua_fd, sendto_lua_fd;
static uint64_t datagrams_received, datagrams_expected;
static int no_lua;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void fail(const char *fmt, long a, long b)
{
	fprintf(stderr, "io_micro: ");
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

/* ---- the six burst bodies; each returns the sum of its calls' results ---- */

static long pread_direct(void)
{
	long total = 0;

	for (int i = 0; i < burst; i++) {
		ssize_t r = pread(file_fd, rbuf + i * len, len, i * len);

		if (r < 0)
			die("pread");
		total += r;
	}
	return total;
}

static long pread_lua(void)
{
	uint64_t args[3] = { file_fd, (uintptr_t)rbuf, len };
	long r = lua_syscall(pread_lua_fd, args, 3);

	if (r < 0)
		die("lua_syscall (pread)");
	return r;
}

static long uring_burst(int sendto)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0;
	long total = 0;
	int r;

	for (int i = 0; i < burst; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		if (!sqe)
			fail("no SQE for slot %ld of %ld", i, burst);
		if (sendto) {
			io_uring_prep_send(sqe, tx_fd, sbuf + i * len, len, 0);
			io_uring_prep_send_set_addr(sqe, (struct sockaddr *)&rx_addr,
						    sizeof(rx_addr));
		} else {
			io_uring_prep_read(sqe, file_fd, rbuf + i * len, len, i * len);
		}
	}
	/* one io_uring_enter(): submit B, wait for B */
	r = io_uring_submit_and_wait(&ring, burst);
	if (r != burst)
		fail("io_uring_submit_and_wait: %ld, want %ld", r, burst);
	io_uring_for_each_cqe(&ring, head, cqe) {
		if (cqe->res < 0)
			fail("CQE error %ld (slot %ld)", cqe->res, seen);
		total += cqe->res;
		seen++;
	}
	io_uring_cq_advance(&ring, seen);
	if (seen != (unsigned int)burst)
		fail("%ld CQEs, want %ld", seen, burst);
	return total;
}

static long pread_uring(void)
{
	return uring_burst(0);
}

static long sendto_direct(void)
{
	long total = 0;

	for (int i = 0; i < burst; i++) {
		ssize_t r = sendto(tx_fd, sbuf + i * len, len, 0, (struct sockaddr *)&rx_addr,
				   sizeof(rx_addr));

		if (r < 0)
			die("sendto");
		total += r;
	}
	return total;
}

static long sendto_lua(void)
{
	uint64_t args[4] = { tx_fd, (uintptr_t)sbuf, len, (uintptr_t)&rx_addr };
	long r = lua_syscall(sendto_lua_fd, args, 4);

	if (r < 0)
		die("lua_syscall (sendto)");
	return r;
}

static long sendto_uring(void)
{
	return uring_burst(1);
}

/* ---- checks ---- */

static void check_read(const char *how)
{
	if (memcmp(rbuf, file_data, burst * len))
		fail("pread %s: the bytes read differ from the file's (%ld, %ld)", 0, 0);
	(void)how;
}

/* Receive everything queued; every datagram LEN bytes, tagged with a slot < burst. */
static void drain(void)
{
	static uint8_t d[MAX_BURST][2048];
	struct mmsghdr m[MAX_BURST];
	struct iovec iov[MAX_BURST];

	for (;;) {
		int n;

		for (int i = 0; i < MAX_BURST; i++) {
			iov[i] = (struct iovec){ d[i], sizeof(d[i]) };
			m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		n = recvmmsg(rx_fd, m, MAX_BURST, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			die("recvmmsg");
		}
		for (int i = 0; i < n; i++) {
			uint32_t tag;

			memcpy(&tag, d[i], sizeof(tag));
			if (m[i].msg_len != len || tag >= (uint32_t)burst ||
			    memcmp(d[i], sbuf + tag * len, len))
				fail("datagram of %ld bytes, tag %ld: not one we sent",
				     m[i].msg_len, tag);
		}
		datagrams_received += n;
	}
}

static void check_sent(void)
{
	drain();
	if (datagrams_received != datagrams_expected)
		fail("received %ld datagrams, sent %ld", datagrams_received, datagrams_expected);
}

/* ---- timing ---- */

static double time_burst(long (*fn)(void), int sends, const char *how)
{
	double best = 1e18;

	for (int r = 0; r < rounds; r++) {
		uint64_t spent = 0;

		memset(rbuf, 0, MAX_BURST * len);
		for (long i = 0; i < iterations; ) {
			long chunk = iterations - i < DRAIN_EVERY ? iterations - i : DRAIN_EVERY;
			uint64_t t0 = now_ns();

			for (long k = 0; k < chunk; k++)
				if (fn() != (long)(burst * len))
					fail("a burst returned a short total (%ld calls of %ld bytes)",
					     burst, len);
			spent += now_ns() - t0;
			i += chunk;
			if (sends) {
				datagrams_expected += chunk * burst;
				drain();
			}
		}
		if (sends)
			check_sent();
		else
			check_read(how);
		if ((double)spent / iterations < best)
			best = (double)spent / iterations;
	}
	return best;
}

static int must_register(const char *script)
{
	int fd = register_lua_syscall(script);

	if (fd < 0)
		die("register_lua_syscall");
	return fd;
}

static void setup(const char *dir)
{
	char path[512], script[1024];
	int rcvbuf = 8 << 20;
	socklen_t alen = sizeof(rx_addr);
	int r;

	file_data = malloc(MAX_BURST * len);
	rbuf = calloc(MAX_BURST, len);
	sbuf = malloc(MAX_BURST * len);
	if (!file_data || !rbuf || !sbuf)
		die("malloc");
	for (size_t i = 0; i < MAX_BURST * len; i++)
		file_data[i] = (uint8_t)(i * 7 + 3);
	for (uint32_t i = 0; i < MAX_BURST; i++) {
		memset(sbuf + i * len, 0x40 + i, len);
		memcpy(sbuf + i * len, &i, sizeof(i));
	}

	snprintf(path, sizeof(path), "%s/io_micro.XXXXXX", dir);
	file_fd = mkstemp(path);
	if (file_fd < 0)
		die(path);
	unlink(path);
	/*
	 * O_NONBLOCK (no effect on a regular file's read(2)) lets io_uring issue the read
	 * inline with IOCB_NOWAIT, as it does for files with FMODE_NOWAIT; tmpfs (the only
	 * writable file system in the guest) has no FMODE_NOWAIT, and without the flag every
	 * read would go to an io-wq worker thread.
	 */
	if (fcntl(file_fd, F_SETFL, O_NONBLOCK) < 0)
		die("O_NONBLOCK");
	if (write(file_fd, file_data, MAX_BURST * len) != (ssize_t)(MAX_BURST * len))
		die("write");
	/* in the page cache: read it once */
	if (pread(file_fd, rbuf, MAX_BURST * len, 0) != (ssize_t)(MAX_BURST * len))
		die("pread");

	rx_fd = socket(AF_INET, SOCK_DGRAM, 0);
	tx_fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (rx_fd < 0 || tx_fd < 0)
		die("socket");
	/* capped by net.core.rmem_max; drained every DRAIN_EVERY bursts anyway */
	setsockopt(rx_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	rx_addr = (struct sockaddr_in){ .sin_family = AF_INET,
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(rx_fd, (struct sockaddr *)&rx_addr, sizeof(rx_addr)) < 0 ||
	    getsockname(rx_fd, (struct sockaddr *)&rx_addr, &alen) < 0)
		die("bind");

	r = io_uring_queue_init(2 * MAX_BURST, &ring, 0);
	if (r < 0) {
		errno = -r;
		die("io_uring_queue_init");
	}

	snprintf(script, sizeof(script),
		 "local pread, n = sys.pread64, %d\n"
		 "return function(fd, buf, len)\n"
		 "  local total = 0\n"
		 "  for i = 0, n - 1 do\n"
		 "    local r = pread(fd, buf + i * len, len, i * len)\n"
		 "    if r < 0 then return r end\n"
		 "    total = total + r\n"
		 "  end\n"
		 "  return total\n"
		 "end\n", burst);
	if (!no_lua)
		pread_lua_fd = must_register(script);
	snprintf(script, sizeof(script),
		 "local sendto, n = sys.sendto, %d\n"
		 "return function(fd, buf, len, addr)\n"
		 "  local total = 0\n"
		 "  for i = 0, n - 1 do\n"
		 "    local r = sendto(fd, buf + i * len, len, 0, addr, %zu)\n"
		 "    if r < 0 then return r end\n"
		 "    total = total + r\n"
		 "  end\n"
		 "  return total\n"
		 "end\n", burst, sizeof(rx_addr));
	if (!no_lua)
		sendto_lua_fd = must_register(script);
}

/* Threads besides this one: io_uring's io-wq workers, if it punted any request. */
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

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		long (*fn)(void);
		int sends;
	} cases[] = {
		{ "pread_direct", pread_direct, 0 },
		{ "pread_lua", pread_lua, 0 },
		{ "pread_uring", pread_uring, 0 },
		{ "sendto_direct", sendto_direct, 1 },
		{ "sendto_lua", sendto_lua, 1 },
		{ "sendto_uring", sendto_uring, 1 },
	};
	const char *dir = "/tmp";
	int opt;

	while ((opt = getopt(argc, argv, "n:r:b:l:d:L")) != -1) {
		if (opt == 'n')
			iterations = atol(optarg);
		else if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 'b')
			burst = atoi(optarg);
		else if (opt == 'l')
			len = atol(optarg);
		else if (opt == 'd')
			dir = optarg;
		else if (opt == 'L')
			no_lua = 1;
		else
			return 2;
	}
	if (burst < 1 || burst > MAX_BURST || len < sizeof(uint32_t) || len > 1024 ||
	    iterations < 1 || rounds < 1) {
		fprintf(stderr, "usage: io_micro [-n bursts] [-r rounds] [-b burst <= %d] "
			"[-l len 4..1024] [-d dir for the file] [-L: no lua_syscall]\n", MAX_BURST);
		return 2;
	}
	setup(dir);
	printf("{\"burst\": %d, \"len\": %zu, \"iterations\": %ld, \"rounds\": %d", burst, len,
	       iterations, rounds);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		if (no_lua && strstr(cases[c].name, "_lua"))
			printf(", \"%s_ns\": null", cases[c].name);
		else
			printf(", \"%s_ns\": %.1f", cases[c].name,
			       time_burst(cases[c].fn, cases[c].sends, cases[c].name));
	printf(", \"datagrams_sent\": %llu, \"datagrams_received\": %llu, \"uring_workers\": %d, "
	       "\"checked\": true}\n", (unsigned long long)datagrams_expected,
	       (unsigned long long)datagrams_received, worker_threads());
	return 0;
}
