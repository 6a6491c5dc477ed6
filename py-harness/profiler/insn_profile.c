// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin that counts the guest's executed instructions per vCPU, split into
 * kernel and user, and (with pcs=on) per kernel instruction address.
 *
 * The guest marks the points it wants counts at by executing `xchg %bx,%bx` (66 87 db), an
 * instruction no compiler emits: each one appends a snapshot of the cumulative counters to
 * the output file, so the difference of two snapshots is exactly what ran between them.
 *
 * Counting is per translation block: an exec callback adds the block's instruction count to
 * the vCPU that runs it. A block cut short by an exception (a page fault, an I/O
 * instruction under icount) is counted whole; neither happens on the paths we profile.
 * QEMU must run with one TCG thread (icount does that), so the counters need no atomics.
 *
 * Arguments: out=<file> (required), pcs=on|off (default off).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_VCPUS 8
/* x86-64 and arm64 kernels both live in the upper half of the address space */
#define KERNEL_START 0xffff000000000000ULL

struct block {
	struct block *next;
	uint64_t runs[MAX_VCPUS];
	bool kernel;
	uint32_t n_insns;
	uint64_t vaddr[];	/* per instruction, only with pcs=on and for kernel blocks */
};

struct pc_count {
	uint64_t vaddr;
	uint64_t count[MAX_VCPUS];
};

static struct block *blocks;
static FILE *out;
static bool want_pcs;
static unsigned int n_vcpus = 1;
static unsigned long snapshots;

static void block_ran(unsigned int vcpu, void *udata)
{
	struct block *b = udata;

	if (vcpu < MAX_VCPUS)
		b->runs[vcpu]++;
}

/* open addressing on the instruction address; the table only lives during a snapshot */
static struct pc_count *pc_slot(struct pc_count *table, size_t mask, uint64_t vaddr)
{
	size_t i = (size_t)((vaddr * 0x9e3779b97f4a7c15ULL) >> 20) & mask;

	while (table[i].vaddr && table[i].vaddr != vaddr)
		i = (i + 1) & mask;
	table[i].vaddr = vaddr;
	return &table[i];
}

static void write_pcs(void)
{
	size_t n = 0, size = 1024, mask;
	struct pc_count *table;
	struct block *b;

	for (b = blocks; b; b = b->next)
		if (b->kernel)
			n += b->n_insns;
	while (size < 2 * n)
		size *= 2;
	mask = size - 1;
	table = calloc(size, sizeof(*table));
	if (!table) {
		fprintf(out, "error no memory for %zu addresses\n", n);
		return;
	}
	for (b = blocks; b; b = b->next) {
		if (!b->kernel)
			continue;
		for (uint32_t i = 0; i < b->n_insns; i++) {
			struct pc_count *pc = pc_slot(table, mask, b->vaddr[i]);

			for (unsigned int v = 0; v < n_vcpus; v++)
				pc->count[v] += b->runs[v];
		}
	}
	for (size_t i = 0; i < size; i++) {
		if (!table[i].vaddr)
			continue;
		for (unsigned int v = 0; v < n_vcpus; v++)
			if (table[i].count[v])
				fprintf(out, "pc %u %" PRIx64 " %" PRIu64 "\n", v,
					table[i].vaddr, table[i].count[v]);
	}
	free(table);
}

static void snapshot(unsigned int vcpu, void *udata)
{
	uint64_t kernel[MAX_VCPUS] = { 0 }, user[MAX_VCPUS] = { 0 };
	struct block *b;

	(void)udata;
	for (b = blocks; b; b = b->next)
		for (unsigned int v = 0; v < n_vcpus; v++)
			(b->kernel ? kernel : user)[v] += b->runs[v] * b->n_insns;
	fprintf(out, "snapshot %lu vcpu %u\n", snapshots++, vcpu);
	for (unsigned int v = 0; v < n_vcpus; v++)
		fprintf(out, "total %u %" PRIu64 " %" PRIu64 "\n", v, kernel[v], user[v]);
	if (want_pcs)
		write_pcs();
	fprintf(out, "end\n");
	fflush(out);
}

static bool is_marker(struct qemu_plugin_insn *insn)
{
	static const unsigned char xchg_bx_bx[] = { 0x66, 0x87, 0xdb };

	return qemu_plugin_insn_size(insn) == sizeof(xchg_bx_bx) &&
	       !memcmp(qemu_plugin_insn_data(insn), xchg_bx_bx, sizeof(xchg_bx_bx));
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	bool kernel = qemu_plugin_tb_vaddr(tb) >= KERNEL_START;
	bool keep_pcs = want_pcs && kernel;
	struct block *b;

	(void)id;
	b = calloc(1, sizeof(*b) + (keep_pcs ? n * sizeof(b->vaddr[0]) : 0));
	if (!b)
		abort();
	b->kernel = kernel;
	b->n_insns = n;
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

		if (keep_pcs)
			b->vaddr[i] = qemu_plugin_insn_vaddr(insn);
		if (!kernel && is_marker(insn))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, snapshot,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
	/* translations are never freed: generated code may still point at them */
	b->next = blocks;
	blocks = b;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, block_ran, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void finished(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	snapshot(0, NULL);
	fclose(out);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *path = NULL;

	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4))
			path = argv[i] + 4;
		else if (!strcmp(argv[i], "pcs=on"))
			want_pcs = true;
		else if (strcmp(argv[i], "pcs=off")) {
			fprintf(stderr, "insn_profile: unknown argument %s\n", argv[i]);
			return -1;
		}
	}
	if (!path) {
		fprintf(stderr, "insn_profile: out=<file> is required\n");
		return -1;
	}
	if (!info->system_emulation) {
		fprintf(stderr, "insn_profile: system emulation only\n");
		return -1;
	}
	n_vcpus = info->system.max_vcpus;
	if (n_vcpus > MAX_VCPUS) {
		fprintf(stderr, "insn_profile: at most %d vCPUs\n", MAX_VCPUS);
		return -1;
	}
	out = fopen(path, "w");
	if (!out) {
		perror(path);
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
	qemu_plugin_register_atexit_cb(id, finished, NULL);
	return 0;
}
