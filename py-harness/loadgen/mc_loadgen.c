// SPDX-License-Identifier: GPL-2.0
/*
 * mc_loadgen: memcached UDP load generator.
 *
 * Sends GET frames from a corpus (built by the harness's scapy layer: records of
 * u16 little-endian length + a whole memcached UDP frame) with sendmmsg, reads the
 * replies with recvmmsg, matches them to requests by request id and reassembles
 * multi-datagram replies.  A request completes when all `total` datagrams of its
 * reply arrived; its latency is send -> last datagram.
 *
 *   max-rate:   keep -o requests outstanding (closed loop, default 128)
 *   fixed-rate: -r RPS, open loop, at most -o outstanding (a send that would
 *               exceed it is counted as `throttled` and postponed)
 *
 * Prints one JSON object.  cpu_frac (this process's CPU time / wall time) tells
 * whether the generator itself was the bottleneck.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_OUTSTANDING 4096
#define IDS 65536
#define BATCH 64
#define RX_SIZE 2048
#define HIST_BUCKETS 40

struct req {
	int active;
	uint16_t got, total;
	uint64_t sent_ns;
	uint32_t corpus_index;
	uint32_t seq_seen_mask; /* first 32 sequence numbers, to drop duplicates */
};

static struct req reqs[IDS];
static uint8_t **frames;
static uint16_t *frame_len;
static uint32_t nframes;
static uint32_t *latencies;
static size_t nlat, cap_lat;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void load_corpus(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t lenb[2];
	size_t cap = 1024;

	if (!f) {
		perror(path);
		exit(2);
	}
	frames = malloc(cap * sizeof(*frames));
	frame_len = malloc(cap * sizeof(*frame_len));
	while (fread(lenb, 1, 2, f) == 2) {
		uint16_t len = lenb[0] | lenb[1] << 8;

		if (nframes == cap) {
			cap *= 2;
			frames = realloc(frames, cap * sizeof(*frames));
			frame_len = realloc(frame_len, cap * sizeof(*frame_len));
		}
		frames[nframes] = malloc(len);
		if (len < 8 || fread(frames[nframes], 1, len, f) != len) {
			fprintf(stderr, "%s: truncated or bad record %u\n", path, nframes);
			exit(2);
		}
		frame_len[nframes++] = len;
	}
	fclose(f);
	if (!nframes) {
		fprintf(stderr, "%s: empty corpus\n", path);
		exit(2);
	}
}

static void record_latency(uint64_t ns)
{
	if (nlat == cap_lat) {
		cap_lat = cap_lat ? cap_lat * 2 : 1 << 16;
		latencies = realloc(latencies, cap_lat * sizeof(*latencies));
	}
	latencies[nlat++] = ns / 1000 > UINT32_MAX ? UINT32_MAX : ns / 1000 ? ns / 1000 : 1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void usage(void)
{
	fprintf(stderr, "usage: mc_loadgen -s IP -p PORT -c CORPUS [-d SECONDS] [-w WARMUP] "
			"[-o OUTSTANDING] [-r RPS] [-t TIMEOUT_MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ip = "127.0.0.1", *corpus = NULL;
	int port = 11211, outstanding_max = 128, opt, fd, timeout_ms = 2000;
	double duration = 5, warmup = 1, rate = 0;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	static struct mmsghdr txm[BATCH], rxm[BATCH];
	static struct iovec txv[BATCH][2], rxv[BATCH];
	static uint8_t txhdr[BATCH][8], rxbuf[BATCH][RX_SIZE];
	uint64_t sent = 0, completed = 0, lost = 0, misses = 0, bad = 0, stray = 0;
	uint64_t rx_datagrams = 0, throttled = 0, syscalls = 0, measured_sent = 0;
	uint64_t start, t_measure, t_end, next_timeout_scan, rate_sent = 0;
	uint16_t next_id = 0;
	int outstanding = 0, measuring = 0;
	uint32_t corpus_pos = 0;
	double cpu0 = 0, hist[HIST_BUCKETS] = { 0 };

	while ((opt = getopt(argc, argv, "s:p:c:d:w:o:r:t:")) != -1) {
		switch (opt) {
		case 's': ip = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'c': corpus = optarg; break;
		case 'd': duration = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		case 'o': outstanding_max = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 't': timeout_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (!corpus || outstanding_max < 1 || outstanding_max > MAX_OUTSTANDING || duration <= 0)
		usage();
	load_corpus(corpus);
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		usage();
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("socket");
		return 2;
	}
	{
		int sz = 4 << 20;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	for (int i = 0; i < BATCH; i++) {
		rxv[i].iov_base = rxbuf[i];
		rxv[i].iov_len = RX_SIZE;
		rxm[i].msg_hdr.msg_iov = &rxv[i];
		rxm[i].msg_hdr.msg_iovlen = 1;
		txv[i][0].iov_base = txhdr[i];
		txv[i][0].iov_len = 8;
		txm[i].msg_hdr.msg_iov = txv[i];
		txm[i].msg_hdr.msg_iovlen = 2;
	}

	start = now_ns();
	t_measure = start + (uint64_t)(warmup * 1e9);
	t_end = t_measure + (uint64_t)(duration * 1e9);
	next_timeout_scan = start + 10000000;
	for (;;) {
		uint64_t t = now_ns();
		int want, n = 0;

		if (!measuring && t >= t_measure) {
			measuring = 1;
			cpu0 = cpu_seconds();
			t_measure = t;
		}
		if (t >= t_end)
			break;
		/* how many to send now */
		if (rate > 0) {
			uint64_t due = (uint64_t)((t - start) / 1e9 * rate);

			want = due > rate_sent ? due - rate_sent : 0;
			if (want > outstanding_max - outstanding) {
				throttled += want - (outstanding_max - outstanding);
				rate_sent += want - (outstanding_max - outstanding);
				want = outstanding_max - outstanding;
			}
		} else {
			want = outstanding_max - outstanding;
		}
		while (want > 0) {
			int k = want > BATCH ? BATCH : want, sentk;

			for (n = 0; n < k; n++) {
				uint16_t id = next_id++;
				struct req *r = &reqs[id];
				uint8_t *fr = frames[corpus_pos];

				if (r->active) { /* id still in use after a full wrap: skip it */
					n--;
					k--;
					continue;
				}
				memcpy(txhdr[n], fr, 8);
				txhdr[n][0] = id >> 8;
				txhdr[n][1] = id & 0xff;
				txv[n][1].iov_base = fr + 8;
				txv[n][1].iov_len = frame_len[corpus_pos] - 8;
				r->active = 1;
				r->got = 0;
				r->total = 0;
				r->seq_seen_mask = 0;
				r->corpus_index = corpus_pos;
				r->sent_ns = t;
				corpus_pos = (corpus_pos + 1) % nframes;
			}
			sentk = sendmmsg(fd, txm, k, 0);
			syscalls++;
			if (sentk < 0)
				sentk = 0;
			for (int i = sentk; i < k; i++) { /* not sent: release the ids */
				uint16_t id = (txhdr[i][0] << 8) | txhdr[i][1];

				reqs[id].active = 0;
			}
			outstanding += sentk;
			sent += sentk;
			if (measuring)
				measured_sent += sentk;
			if (rate > 0)
				rate_sent += sentk;
			want -= k;
			if (sentk < k)
				break;
		}
		/* wait for replies (or the next send time in fixed-rate mode) */
		{
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int64_t wait_ns = 10000000;
			struct timespec ts;

			if (rate > 0) {
				double next = (rate_sent + 1) / rate * 1e9 + start;
				double dt = next - (double)now_ns();

				wait_ns = dt <= 0 ? 0 : dt < 1e7 ? (int64_t)dt : 10000000;
			}
			if (outstanding == 0 && rate <= 0)
				wait_ns = 0;
			ts.tv_sec = 0;
			ts.tv_nsec = wait_ns;
			if (ppoll(&p, 1, &ts, NULL) == 0 && rate > 0) {
				syscalls++;
				continue; /* nothing came: time to send */
			}
			syscalls++;
		}
		for (;;) {
			int got = recvmmsg(fd, rxm, BATCH, MSG_DONTWAIT, NULL);
			uint64_t tr;

			syscalls++;
			if (got <= 0)
				break;
			tr = now_ns();
			for (int i = 0; i < got; i++) {
				uint8_t *b = rxbuf[i];
				unsigned int len = rxm[i].msg_len;
				uint16_t id, seq, total;
				struct req *r;

				rx_datagrams++;
				if (len < 8) {
					bad++;
					continue;
				}
				id = b[0] << 8 | b[1];
				seq = b[2] << 8 | b[3];
				total = b[4] << 8 | b[5];
				r = &reqs[id];
				if (!r->active || total == 0 || seq >= total ||
				    (r->total && r->total != total)) {
					stray++;
					continue;
				}
				if (seq < 32) {
					if (r->seq_seen_mask & (1u << seq)) {
						stray++;
						continue;
					}
					r->seq_seen_mask |= 1u << seq;
				}
				if (seq == 0 && len >= 11 && memcmp(b + 8, "END", 3) == 0)
					misses++;
				r->total = total;
				if (++r->got == total) {
					r->active = 0;
					outstanding--;
					if (measuring && r->sent_ns >= t_measure) {
						completed++;
						record_latency(tr - r->sent_ns);
					}
				}
			}
			if (got < BATCH)
				break;
		}
		if (now_ns() >= next_timeout_scan) {
			uint64_t tn = now_ns();

			/* Lost datagrams: give up on requests older than the timeout. */
			for (int id = 0; id < IDS && outstanding; id++) {
				if (reqs[id].active && tn - reqs[id].sent_ns > timeout_ms * 1000000ull) {
					reqs[id].active = 0;
					outstanding--;
					lost++;
				}
			}
			next_timeout_scan = tn + 10000000;
		}
	}

	{
		double wall = (now_ns() - t_measure) / 1e9, cpu = cpu_seconds() - cpu0;
		double sum = 0;

		qsort(latencies, nlat, sizeof(*latencies), cmp_u32);
		for (size_t i = 0; i < nlat; i++) {
			int bucket = 0;

			sum += latencies[i];
			while ((1u << (bucket + 1)) <= latencies[i] && bucket < HIST_BUCKETS - 1)
				bucket++;
			hist[bucket]++;
		}
		printf("{\"mode\": \"%s\", \"offered_rps\": %.0f, \"outstanding\": %d, "
		       "\"seconds\": %.3f, \"sent\": %llu, \"measured_sent\": %llu, "
		       "\"completed\": %llu, \"lost\": %llu, \"misses\": %llu, \"bad\": %llu, "
		       "\"stray\": %llu, \"throttled\": %llu, \"rx_datagrams\": %llu, "
		       "\"tps\": %.1f, \"mean_us\": %.1f, \"p50_us\": %u, \"p99_us\": %u, "
		       "\"max_us\": %u, \"cpu_frac\": %.3f, \"loadgen_syscalls\": %llu, "
		       "\"hist_log2_us\": [",
		       rate > 0 ? "fixed-rate" : "max-rate", rate, outstanding_max, wall,
		       (unsigned long long)sent, (unsigned long long)measured_sent,
		       (unsigned long long)completed, (unsigned long long)lost,
		       (unsigned long long)misses, (unsigned long long)bad,
		       (unsigned long long)stray, (unsigned long long)throttled,
		       (unsigned long long)rx_datagrams, completed / wall,
		       nlat ? sum / nlat : 0.0, nlat ? latencies[nlat / 2] : 0,
		       nlat ? latencies[(size_t)(nlat * 0.99)] : 0,
		       nlat ? latencies[nlat - 1] : 0, wall > 0 ? cpu / wall : 0.0,
		       (unsigned long long)syscalls);
		for (int i = 0; i < HIST_BUCKETS; i++)
			printf("%s%.0f", i ? ", " : "", hist[i]);
		printf("]}\n");
	}
	return 0;
}
