// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a compiled chunk can be seen to get wrong before it runs: each
 * sys.NAME whose NAME the sys library does not have, and each
 * sys.const.NAME that is no constant.  Such a lookup fails only when it
 * runs, which may be in a branch no test takes; the registration log
 * names it at once.
 *
 * The check reads the compiled functions' code.  It follows which
 * registers and upvalues hold the sys table (the global sys, or a copy of
 * it) or sys.const, in the order the instructions are written, ignoring
 * jumps, and into the functions a closure instruction creates, through
 * their upvalues; an upvalue named sys counts as sys.  It is a lint, not
 * a proof: a table reached any other way is not seen.
 */
/* It reads the core's structures: built as part of the core. */
#define LUA_CORE

#include <linux/bitmap.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "lua.h"
#include "ldebug.h"
#include "lobject.h"
#include "lopcodes.h"
#include "lstate.h"
#include "lua_syscall_libs.h"

/* Registers and upvalues are numbered by a byte. */
#define CHECK_SLOTS	256

/* What the registers or the upvalues of a function hold. */
struct check_slots {
	DECLARE_BITMAP(sys, CHECK_SLOTS);
	DECLARE_BITMAP(sysconst, CHECK_SLOTS);
};

struct check_func {
	const Proto *p;
	struct check_slots up;
};

struct check_ctx {
	void (*warn)(void *arg, int line, const char *table, const char *name);
	void *arg;
	unsigned int found;
};

static const char *const_string(const Proto *p, int k)
{
	if (k >= p->sizek || !ttisstring(&p->k[k]))
		return NULL;
	return getstr(tsvalue(&p->k[k]));
}

static bool upvalue_named(const Proto *p, int idx, const char *name)
{
	const TString *ts;

	if (idx >= p->sizeupvalues)
		return false;
	ts = p->upvalues[idx].name;
	return ts && !strcmp(getstr(ts), name);
}

/* Instructions that may write registers from A up, not only A. */
static bool writes_from_a(OpCode op)
{
	switch (op) {
	case OP_CALL:
	case OP_TFORCALL:
	case OP_VARARG:
	case OP_LOADNIL:
	case OP_SELF:
	case OP_FORPREP:
	case OP_FORLOOP:
	case OP_TFORPREP:
	case OP_TFORLOOP:
		return true;
	default:
		return false;
	}
}

/* A lookup of @name in a table that holds sys (or sys.const). */
static void check_name(struct check_ctx *cc, const Proto *p, int pc,
		       bool sysconst, const char *name)
{
	if (sysconst ? lua_syscall_sysconst_has(name) :
		       lua_syscall_sys_has(name))
		return;
	cc->warn(cc->arg, luaG_getfuncline(p, pc),
		 sysconst ? "sys.const" : "sys", name);
	cc->found++;
}

/* The upvalues of the closure of @child that @f creates now. */
static void closure_upvalues(const struct check_func *f,
			     const struct check_slots *regs,
			     const Proto *child, struct check_slots *up)
{
	const struct check_slots *from;
	int u;

	bitmap_zero(up->sys, CHECK_SLOTS);
	bitmap_zero(up->sysconst, CHECK_SLOTS);
	for (u = 0; u < child->sizeupvalues && u < CHECK_SLOTS; u++) {
		const Upvaldesc *d = &child->upvalues[u];

		from = d->instack ? regs : &f->up;
		__assign_bit(u, up->sys, test_bit(d->idx, from->sys) ||
			     upvalue_named(child, u, "sys"));
		__assign_bit(u, up->sysconst, test_bit(d->idx, from->sysconst));
	}
}

/* Check @f; fill @children, in the order of f->p->p, for the caller. */
static void check_func(struct check_ctx *cc, const struct check_func *f,
		       struct check_func *children)
{
	const Proto *p = f->p;
	struct check_slots regs;
	const char *name;
	int pc, b;

	bitmap_zero(regs.sys, CHECK_SLOTS);
	bitmap_zero(regs.sysconst, CHECK_SLOTS);
	for (pc = 0; pc < p->sizecode; pc++) {
		Instruction i = p->code[pc];
		OpCode op = GET_OPCODE(i);
		int a = GETARG_A(i);
		bool sys = false, sysconst = false;

		switch (op) {
		case OP_GETTABUP:
			name = const_string(p, GETARG_C(i));
			b = GETARG_B(i);
			if (!name)
				break;
			if (test_bit(b, f->up.sys) || upvalue_named(p, b, "sys")) {
				sysconst = !strcmp(name, "const");
				check_name(cc, p, pc, false, name);
			} else if (test_bit(b, f->up.sysconst)) {
				check_name(cc, p, pc, true, name);
			} else if (upvalue_named(p, b, "_ENV")) {
				sys = !strcmp(name, "sys");
			}
			break;
		case OP_GETUPVAL:
			b = GETARG_B(i);
			sys = test_bit(b, f->up.sys) || upvalue_named(p, b, "sys");
			sysconst = test_bit(b, f->up.sysconst);
			break;
		case OP_MOVE:
			sys = test_bit(GETARG_B(i), regs.sys);
			sysconst = test_bit(GETARG_B(i), regs.sysconst);
			break;
		case OP_GETFIELD:
			name = const_string(p, GETARG_C(i));
			b = GETARG_B(i);
			if (!name)
				break;
			if (test_bit(b, regs.sys)) {
				sysconst = !strcmp(name, "const");
				check_name(cc, p, pc, false, name);
			} else if (test_bit(b, regs.sysconst)) {
				check_name(cc, p, pc, true, name);
			}
			break;
		case OP_CLOSURE:
			b = GETARG_Bx(i);
			if (b < p->sizep)
				closure_upvalues(f, &regs, p->p[b],
						 &children[b].up);
			break;
		default:
			if (writes_from_a(op)) {
				bitmap_clear(regs.sys, a, CHECK_SLOTS - a);
				bitmap_clear(regs.sysconst, a, CHECK_SLOTS - a);
				continue;
			}
			if (!testAMode(op))
				continue;
			break;
		}
		__assign_bit(a, regs.sys, sys);
		__assign_bit(a, regs.sysconst, sysconst);
	}
}

/**
 * lua_syscall_check_chunk() - find sys and sys.const lookups of nothing
 * @L: a state with a compiled chunk, a Lua function, on top of its stack
 * @warn: called with the line, the table ("sys" or "sys.const") and the
 *	name of each such lookup
 * @arg: passed to @warn
 *
 * Runs no Lua code and calls no Lua API function.  Functions are checked
 * depth first, each before the functions it defines.
 *
 * Context: process context, may sleep.
 * Return: the number of lookups found, or -ENOMEM.
 */
int lua_syscall_check_chunk(struct lua_State *L,
			    void (*warn)(void *arg, int line,
					 const char *table, const char *name),
			    void *arg)
{
	const TValue *top = s2v(L->top.p - 1);
	struct check_ctx cc = { .warn = warn, .arg = arg };
	struct check_func *todo, *more, *children = NULL;
	unsigned int n = 0, size = 8;
	struct check_func f;
	int i, err = 0;

	if (!ttisLclosure(top))
		return 0;
	/* A list, not recursion: functions nest as deep as the parser lets. */
	todo = kmalloc_array(size, sizeof(*todo), GFP_KERNEL_ACCOUNT);
	if (!todo)
		return -ENOMEM;
	todo[n] = (struct check_func){ .p = clLvalue(top)->p };
	n++;
	while (n) {
		f = todo[--n];
		children = kcalloc(f.p->sizep, sizeof(*children),
				   GFP_KERNEL_ACCOUNT);
		if (f.p->sizep && !children) {
			err = -ENOMEM;
			break;
		}
		check_func(&cc, &f, children);
		if (n + f.p->sizep > size) {
			size = max(2 * size, n + f.p->sizep);
			more = krealloc_array(todo, size, sizeof(*todo),
					      GFP_KERNEL_ACCOUNT);
			if (!more) {
				err = -ENOMEM;
				break;
			}
			todo = more;
		}
		/* Last first: nested functions are checked as written. */
		for (i = f.p->sizep - 1; i >= 0; i--) {
			children[i].p = f.p->p[i];
			todo[n++] = children[i];
		}
		kfree(children);
		children = NULL;
		cond_resched();
	}
	kfree(children);
	kfree(todo);
	return err ?: cc.found;
}
