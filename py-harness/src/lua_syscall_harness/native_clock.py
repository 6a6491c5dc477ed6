"""`lua-syscall native-clock`: the in-kernel path timed on the host CPU, in nanoseconds.

A user-space replica of the kernel's lua_syscall path: the Lua core and our runtime glue
(kernel/lua/*.c, arch/x86/kernel/lua_syscall_64.c, arch/x86/lib/lua_setjmp.S) and the kernel's
own system call dispatcher (arch/x86/entry/syscall_64.c), compiled from a snapshot of the
kernel tree (build/linux) with the kernel's headers and the exact per-file gcc flags of the
bench kernel (its .o.cmd files in build/bench), except -mcmodel=kernel (user space: small).
What a kernel object calls out of line that is not on these paths, or that only the kernel
can do (fget, the allocator, capable(), the file of the state), is a stand-in of our own in
py-harness/native/ (kstub.c); the nested call's system call is the kernel's dispatcher
(x64_sys_call) calling a getppid() that does the kernel's loads in user memory, not a host
system call: a host call would add a crossing the kernel does not pay.

The driver (py-harness/native/driver.c) times, interleaved in one process pinned to one CPU:
the host's native getppid() crossing, a burst of 64, an empty lua_syscall() through the
replica, one nested sys.getppid() and 64 in one call, plus the replica's direct dispatch of
getppid (the in-kernel body of the host's crossing). Each variant of the build flags
(retpolines, return thunks, jump tables) is its own binary; the runs alternate between them.
Results: build/native-clock-results/<UTC>/native.md, native.json and native.png.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .layout import HARNESS_DIR, build_lock, build_root, kernel_tree, variant_dir
from .proc import HarnessError, git, run, say

NATIVE_DIR = HARNESS_DIR / "native"
NESTED = 64
BURST = 64

# The kernel objects of the replica, as the bench kernel builds them (path of the .o).
KERNEL_OBJECTS = (
    *(f"kernel/lua/{n}.o" for n in (
        "lapi", "lcode", "lctype", "ldebug", "ldo", "ldump", "lfunc", "lgc", "llex", "lmem",
        "lobject", "lopcodes", "lparser", "lstate", "lstring", "ltable", "ltm", "lundump",
        "lvm", "lzio", "lauxlib", "lbaselib", "lcorolib", "lstrlib", "ltablib", "lutf8lib",
        "lua_runtime", "lua_libs", "lua_syscall", "lua_syslib", "lua_memlib", "lua_nested",
        "lua_sysconst", "lua_syscall_log", "lua_chunk_check")),
    "arch/x86/kernel/lua_syscall_64.o",
    "arch/x86/lib/lua_setjmp.o",
    "arch/x86/entry/syscall_64.o",
    # what the registration's log and lint use
    "lib/ctype.o",
    "lib/bitmap.o",
)
# The headers the kernel build generates for those objects besides include/generated.
GENERATED = ("kernel/lua/lua_syscall_names.h", "kernel/lua/lua_syscall_errnos.h")

# Symbols the kernel objects may take from the C library: leaf routines with the kernel's
# meaning, which neither realign the stack nor use the SSE state the kernel code does not
# save (-mno-sse, 8-byte stack alignment).
LIBC_LEAF = frozenset({
    "memcpy", "memmove", "memset", "memcmp", "memchr", "strlen", "strnlen", "strcmp",
    "strncmp", "strchr", "strrchr", "strpbrk", "strspn", "strcspn", "strstr",
})


@dataclass(frozen=True)
class Variant:
    """Code generation switches of one build of the replica."""

    retpoline: bool = True      # -mindirect-branch=thunk-extern: indirect calls via retpolines
    rethunk: bool = True        # -mfunction-return=thunk-extern: returns via a return thunk
    jump_tables: bool = False   # the kernel builds with -fno-jump-tables under retpoline
    # lvm.c's computed-goto dispatch (Lua's LUA_USE_JUMPTABLE, which the kernel's luaconf.h
    # turns off): one indirect jump per VM instruction, a retpoline under retpolines
    goto_dispatch: bool = False

    @property
    def name(self) -> str:
        return "-".join((
            "retpoline" if self.retpoline else "noretpoline",
            "rethunk" if self.rethunk else "noret",
            "jumptables" if self.jump_tables else "nojumptables",
            *(("goto",) if self.goto_dispatch else ()),
        ))

    @classmethod
    def parse(cls, name: str) -> Variant:
        """The inverse of name; "kernel" is the bench kernel's own flags, "kernel-goto"
        the same with computed-goto dispatch."""
        if name in ("kernel", "kernel-goto"):
            return cls(goto_dispatch=name == "kernel-goto")
        parts = name.split("-")
        goto = parts[-1:] == ["goto"]
        parts = set(parts[:-1] if goto else parts)
        known = {"retpoline", "noretpoline", "rethunk", "noret", "jumptables", "nojumptables"}
        if not parts <= known or len(parts) != 3 or (
                {"retpoline", "noretpoline"} <= parts or {"rethunk", "noret"} <= parts
                or {"jumptables", "nojumptables"} <= parts):
            raise HarnessError(f"unknown flags variant {name!r}: e.g. kernel, kernel-goto, "
                               "noretpoline-rethunk-nojumptables, "
                               "noretpoline-noret-jumptables[-goto]")
        return cls(retpoline="retpoline" in parts, rethunk="rethunk" in parts,
                   jump_tables="jumptables" in parts, goto_dispatch=goto)


DEFAULT_VARIANTS = ("kernel", "noretpoline-rethunk-nojumptables")


def work_dir() -> Path:
    return build_root() / "native-clock"


def results_root() -> Path:
    return build_root() / "native-clock-results"


# ---------------------------------------------------------------------------------------------
# Snapshot of the sources and of the bench kernel's build commands


def _source_paths(objects: tuple[str, ...] = KERNEL_OBJECTS) -> list[str]:
    """The kernel tree's paths the replica compiles or includes."""
    files = {o.removesuffix(".o") for o in objects if not o.startswith("kernel/lua/")}
    return ["include", "arch/x86/include", "kernel/lua",
            *sorted(f + (".S" if f.endswith("setjmp") else ".c") for f in files)]


def snapshot(dest: Path, ref: str = "HEAD", *, obj_tree: Path | None = None,
             objects: tuple[str, ...] = KERNEL_OBJECTS,
             generated: tuple[str, ...] = GENERATED
             ) -> dict[str, str]:
    """Copy what the replica compiles from build/linux (its commit ref, not the working
    tree, which another engineer may be editing) and build/bench (the generated headers and
    the .o.cmd files) into dest/src and dest/obj.

    obj_tree, objects and generated (the kernel build directory, the objects whose .o.cmd
    files are copied and the generated headers besides include/generated) are for other
    replicas (`lua-syscall check`); the defaults are native-clock's.
    Under the build lock, so that no harness process is checking the tree out meanwhile.
    Returns what was copied from.
    """
    src_tree = kernel_tree()
    if obj_tree is None:
        obj_tree = variant_dir("bench")
    if not (src_tree / "kernel/lua/lua_syscall.c").exists():
        raise HarnessError(f"{src_tree} has no lua_syscall series: run `lua-syscall tree`")
    if not (obj_tree / "kernel/lua/.lvm.o.cmd").exists():
        raise HarnessError(f"{obj_tree} has no kernel build: run "
                           f"`lua-syscall build --variant {obj_tree.name}`")
    src, obj = dest / "src", dest / "obj"
    for d in (src, obj):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    with build_lock():
        commit = git(src_tree, "rev-parse", ref)
        dirty = bool(git(src_tree, "status", "--porcelain", "--", *_source_paths(objects)))
        archive = subprocess.run(["git", "-C", str(src_tree), "archive", "--format=tar",
                                  commit, "--", *_source_paths(objects)],
                                 capture_output=True, check=False)
        if archive.returncode:
            raise HarnessError(f"git archive {commit} failed: {archive.stderr.decode()[-500:]}")
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
        for o in objects:
            cmd = obj_tree / Path(o).parent / f".{Path(o).name}.cmd"
            (obj / o).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(cmd, obj / cmd.relative_to(obj_tree))
        for d in ("include/generated", "include/config", "arch/x86/include/generated"):
            if (obj_tree / d).exists():
                shutil.copytree(obj_tree / d, obj / d, symlinks=True)
        for g in generated:
            shutil.copy2(obj_tree / g, obj / g)
        shutil.copy2(obj_tree / ".config", obj / ".config")
    return {"kernel_commit": commit, "kernel_tree": str(src_tree), "bench_build": str(obj_tree),
            "working_tree_differs": str(dirty)}


def saved_command(cmd_file: Path) -> list[str]:
    """The compiler command line of a Kbuild .o.cmd file (without the objtool step)."""
    text = cmd_file.read_text()
    m = re.search(r"^savedcmd_\S+ := (.*)$", text, re.M)
    if not m:
        raise HarnessError(f"{cmd_file}: no savedcmd line")
    line = m.group(1).split(" ; ")[0].split(";")[0]
    return shlex.split(line)


_THUNK_FLAGS = ("-mindirect-branch=thunk-extern", "-mindirect-branch-register",
                "-mindirect-branch-cs-prefix")


def user_space_command(argv: list[str], *, src_tree: str, obj_tree: str, src: Path, obj: Path,
                       out: Path, variant: Variant) -> list[str]:
    """A Kbuild compiler command rewritten for the replica.

    Paths of the kernel tree (absolute) and of the build directory (relative) point into
    the snapshot; ccache, the dependency file and -mcmodel=kernel go (user space is
    -mcmodel=small: the same code with other address constants); the output is out; the
    variant switches retpolines, the return thunk and jump tables.
    """
    res: list[str] = []
    src_prefix = src_tree.rstrip("/") + "/"
    args = list(argv)
    if args and args[0] == "ccache":
        args = args[1:]
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a.startswith("-Wp,-MMD") or a.startswith("-Wp,-MD"):
            continue
        if a == "-o":
            res += ["-o", str(out)]
            i += 1
            continue
        if a == "-mcmodel=kernel":
            res.append("-mcmodel=small")
            continue
        if a in _THUNK_FLAGS:
            if variant.retpoline:
                res.append(a)
            elif a == "-mindirect-branch=thunk-extern":
                res.append("-mindirect-branch=keep")
            continue
        if a == "-mfunction-return=thunk-extern":
            res.append(a if variant.rethunk else "-mfunction-return=keep")
            continue
        if a == "-fno-jump-tables":
            if not variant.jump_tables:
                res.append(a)
            continue
        if a.startswith("-fmacro-prefix-map="):
            continue
        for prefix in ("-I", "-include", ""):
            if a == prefix and prefix:
                # "-I dir" / "-include file": rewrite the next argument
                res.append(a)
                a = args[i]
                i += 1
                prefix = ""
            if prefix and not a.startswith(prefix):
                continue
            path = a[len(prefix):]
            if path.startswith(src_prefix):
                a = prefix + str(src / path[len(src_prefix):])
            elif prefix == "-I" and not path.startswith("/"):
                a = prefix + str(obj / path.removeprefix("./"))
            elif not prefix and path.endswith((".c", ".S")) and path.startswith("/"):
                a = str(src / Path(path).relative_to(src_tree))
            break
        res.append(a)
    del obj_tree
    return res


def kernel_flags(argv: list[str]) -> list[str]:
    """The flags of a rewritten kernel compile command, for our own stand-ins: without -c,
    -o, the source and the object's KBUILD names."""
    res: list[str] = []
    skip = False
    for a in argv[1:]:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c" or a.endswith((".c", ".S")) or a.startswith(("-DKBUILD_", "-D__KBUILD")):
            continue
        res.append(a)
    return res


# ---------------------------------------------------------------------------------------------
# Building one variant of the replica

# Data the kernel objects refer to on paths the replica never takes (tracing, sysctls):
# zeroed objects, so that a stray read finds nothing set.
DATA_STUBS = frozenset({
    "__cpu_online_mask", "sysctl_vals", "event_class_syscall_enter", "event_class_syscall_exit",
    "enter_syscall_print_funcs", "exit_syscall_print_funcs", "__tracepoint_sys_enter",
    "__tracepoint_sys_exit", "__SCK__tp_func_sys_enter", "__SCK__tp_func_sys_exit",
})
# The C library's routines the kernel has under the same names but which are not leaves
# (variadic, or calling back): renamed in the kernel objects to kstub.c's versions.
RENAMED = {"snprintf": "nc_k_snprintf", "vsnprintf": "nc_k_vsnprintf",
           "bsearch": "nc_k_bsearch"}
# Provided by native_asm.S and native_glue.c.
ASM_AND_GLUE = frozenset({
    *(f"__x86_indirect_thunk_{r}" for r in (
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
        *(f"r{n}" for n in range(8, 16)))),
    "__x86_return_thunk", "nc_glue_malloc", "nc_glue_realloc", "nc_glue_free",
    "nc_glue_vsnprintf", "nc_glue_vprint", "nc_unreachable", "const_pcpu_hot",
})
USER_CFLAGS = ["-O2", "-g", "-Wall", "-Wextra", "-std=gnu11", "-fno-pie"]


def generated_stubs(undefined: list[str]) -> tuple[str, list[str], list[str]]:
    """Assembler source for what no object defines: __x64_sys_* -> -ENOSYS (the kernel's
    sys_ni_syscall), data -> zeroed, anything else -> nc_unreachable("name").

    Returns the source, the functions stubbed as unreachable and the data stubbed.
    """
    lines = ["\t.text"]
    unreachable: list[str] = []
    data: list[str] = []
    names = sorted(set(undefined) - LIBC_LEAF - ASM_AND_GLUE)
    for i, name in enumerate(names):
        if name in DATA_STUBS:
            data.append(name)
            continue
        lines += [f"\t.globl {name}", f"\t.type {name}, @function", f"{name}:"]
        if name.startswith("__x64_sys_"):
            lines.append("\tjmp __x64_sys_ni_syscall")
        else:
            unreachable.append(name)
            lines += [f"\tlea .Lname{i}(%rip), %rdi", "\tjmp nc_unreachable",
                      "\t.section .rodata.str1.1,\"aMS\",@progbits,1",
                      f".Lname{i}:\t.asciz \"{name}\"", "\t.text"]
    lines.append("\t.bss")
    for name in data:
        lines += ["\t.balign 64", f"\t.globl {name}", f"\t.type {name}, @object",
                  f"{name}:\t.zero 256"]
    lines.append("\t.section .note.GNU-stack,\"\",@progbits")
    return "\n".join(lines) + "\n", unreachable, data


def _undefined(obj: Path) -> list[str]:
    out = run(["nm", "-u", str(obj)], capture=True).stdout
    return [ln.split()[-1] for ln in out.splitlines() if ln.strip()]


def _parallel(cmds: list[list[str]], jobs: int) -> None:
    """Run compiler commands, jobs at a time; fail with the first failure's output."""
    pending = list(cmds)
    running: list[tuple[subprocess.Popen[str], list[str]]] = []
    while pending or running:
        while pending and len(running) < jobs:
            cmd = pending.pop(0)
            running.append((subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, text=True), cmd))
        proc, cmd = running.pop(0)
        out, _ = proc.communicate()
        if proc.returncode:
            for p, _c in running:
                p.kill()
            raise HarnessError(f"compile failed: {shlex.join(cmd)}\n{out[-3000:]}")


GOTO_WRAPPER = """/* native-clock: lvm.c with Lua's computed-goto dispatch (LUA_USE_JUMPTABLE) */
#define lvm_c
#define LUA_CORE
#include "lprefix.h"
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "luaconf.h"
#undef LUA_USE_JUMPTABLE
#define LUA_USE_JUMPTABLE 1
#include "lvm.c"
"""


def goto_wrapper(src: Path) -> Path:
    """A file beside the snapshot's lvm.c that compiles it with computed-goto dispatch:
    luaconf.h (include-guarded) is read first, after what lvm.c itself includes before it,
    and its choice overridden; the kernel tree is not changed."""
    path = src / "kernel/lua/nc_lvm_goto.c"
    path.write_text(GOTO_WRAPPER)
    return path


def build_variant(variant: Variant, work: Path, src_tree: str, jobs: int = 2) -> Path:
    """Compile and link the replica for one variant; return the driver binary."""
    out = work / variant.name
    objdir = out / "obj"
    objdir.mkdir(parents=True, exist_ok=True)
    src, obj = work / "src", work / "obj"
    cmds, objs = [], []
    for o in KERNEL_OBJECTS:
        argv = saved_command(obj / Path(o).parent / f".{Path(o).name}.cmd")
        target = objdir / Path(o).name
        cmd = user_space_command(argv, src_tree=src_tree, obj_tree=str(obj), src=src,
                                 obj=obj, out=target, variant=variant)
        if variant.goto_dispatch and o == "kernel/lua/lvm.o":
            lvm = str(src / "kernel/lua/lvm.c")
            cmd = [str(goto_wrapper(src)) if a == lvm else a for a in cmd]
        cmds.append(cmd)
        objs.append(target)
    # Our stand-ins: the flags of lua_nested.o (a kernel/lua object without the Lua shim).
    nested = next(c for c, o in zip(cmds, KERNEL_OBJECTS, strict=True)
                  if o.endswith("lua_nested.o"))
    kstub = objdir / "kstub.o"
    cmds.append(["gcc", *kernel_flags(nested), f"-I{NATIVE_DIR}", "-DKBUILD_MODNAME=\"nc\"",
                 "-DKBUILD_BASENAME=\"kstub\"", "-c", "-o", str(kstub),
                 str(NATIVE_DIR / "kstub.c")])
    asm = objdir / "native_asm.o"
    cmds.append(["gcc", "-c", *(["-DNC_RETHUNK"] if variant.rethunk else []), "-o", str(asm),
                 str(NATIVE_DIR / "native_asm.S")])
    glue = objdir / "native_glue.o"
    cmds.append(["gcc", *USER_CFLAGS, "-mstackrealign", "-c", "-o", str(glue),
                 str(NATIVE_DIR / "native_glue.c")])
    driver_o = objdir / "driver.o"
    cmds.append(["gcc", *USER_CFLAGS, f"-I{NATIVE_DIR}", "-c", "-o", str(driver_o),
                 str(NATIVE_DIR / "driver.c")])
    say(f"native-clock: compiling {len(cmds)} objects ({variant.name})")
    _parallel(cmds, jobs)
    renames = [f"--redefine-sym={a}={b}" for a, b in RENAMED.items()]
    for o in objs:
        run(["objcopy", *renames, str(o)])
    kernel_o = objdir / "kernel.o"
    run(["ld", "-r", "-z", "noexecstack", "-o", str(kernel_o), *map(str, objs), str(kstub)])
    stubs_src, unreachable, data = generated_stubs(_undefined(kernel_o))
    stubs_s = objdir / "stubs.S"
    stubs_s.write_text(stubs_src)
    stubs_o = objdir / "stubs.o"
    run(["gcc", "-c", "-o", str(stubs_o), str(stubs_s)])
    binary = out / "native_clock"
    run(["gcc", "-no-pie", "-o", str(binary), str(driver_o), str(kernel_o), str(stubs_o),
         str(asm), str(glue), "-Wl,--defsym=const_pcpu_hot=pcpu_hot", "-Wl,-z,noexecstack"])
    (out / "stubs.json").write_text(json.dumps({"unreachable": unreachable, "data": data},
                                               indent=1) + "\n")
    return binary


# ---------------------------------------------------------------------------------------------
# Statistics and the report

# What the replica is made of, for the report.
REAL_CODE = (
    "the Lua 5.4.7 core and the series' runtime glue (kernel/lua/*.c: lua_runtime, lua_libs, "
    "lua_syscall, lua_syslib, lua_memlib, lua_nested; for registration lua_sysconst, "
    "lua_syscall_log, lua_chunk_check, lib/ctype.c, lib/bitmap.c), "
    "arch/x86/kernel/lua_syscall_64.c, "
    "arch/x86/lib/lua_setjmp.S and the kernel's dispatcher x64_sys_call() "
    "(arch/x86/entry/syscall_64.c), from the kernel tree with its headers and the bench "
    "kernel's per-file gcc flags (-mcmodel=small for -mcmodel=kernel); everything the kernel "
    "inlines on these paths (current, thread flags, seccomp/trace/audit checks, the bit "
    "lock, spin_unlock, the uaccess copy, array_index_nospec)",
)
STAND_INS = (
    "fget/fput (fd table lookup, reference count, the kernel's shape), _raw_spin_lock (the "
    "kernel's inline lock), wake_up_bit (hashed wait queue check), _copy_from_user (the "
    "kernel's inline raw copy; SMAP's stac/clac not executed: unpatched alternatives)",
    "getppid: SYSCALL_DEFINE0(getppid) as kernel/sys.c, __task_pid_nr_ns as kernel/pid.c "
    "(pointer chase through our task, signal and pid structures), reached through the real "
    "x64_sys_call(); no host system call",
    "allocator (kmalloc/kvmalloc/kvrealloc/kfree -> glibc malloc; not called per operation: "
    "see the census), capable(), anon inode file, fd install, random/siphash (deterministic)",
    "retpoline thunks and the return thunk in the kernel's shape (native_asm.S); the user "
    "register frame at the top of a THREAD_SIZE-aligned stack, as the entry code leaves it",
    "not replicated: the crossing itself (entry/exit, syscall/sysret) -- measured natively as "
    "the host's getppid(); boot-time patching (alternatives run unpatched: no stac/clac, no "
    "lfence barriers); the host kernel is not the bench kernel",
)
LABEL = ("native clock: the in-kernel code of lua_syscall() built with the bench kernel's "
         "flags and timed in user space on the host CPU (a replica, not the kernel), "
         "interleaved with the host's own getppid() crossing")


def median_ci(xs: list[float], conf: float = 0.95) -> tuple[float, float, float]:
    """Median and a distribution-free confidence interval for it (binomial order statistics).

    With fewer than 6 values there is no 95 % interval: the range is returned.
    """
    if not xs:
        raise ValueError("no values")
    s = sorted(xs)
    n = len(s)
    med = statistics.median(s)
    # the largest k with P(Binomial(n, 1/2) < k) <= (1 - conf) / 2
    alpha = (1 - conf) / 2
    cdf, k = 0.0, 0
    for j in range(n + 1):
        p = math.comb(n, j) / 2 ** n
        if cdf + p > alpha:
            break
        cdf += p
        k = j + 1
    if k == 0:
        return med, s[0], s[-1]
    return med, s[k - 1], s[n - k]


def derived(ns: dict[str, list[float]], burst: int = BURST,
            nested: int = NESTED) -> dict[str, list[float]]:
    """Per-round figures from one run's per-round ns per operation (rounds are paired:
    every workload ran once in each round).

    crossing_only: the host's getppid() minus its in-kernel body (the replica's dispatch);
    lua_syscall_est: a full empty lua_syscall() on this CPU, crossing_only + the replica's
    empty call; nested_call: (nested64 - nested0) / 64, the script's loop step included;
    ratios as the issue's targets state them.
    """
    rounds = len(ns["crossing"])
    out: dict[str, list[float]] = {k: [] for k in (
        "crossing_ns", "direct_in_burst_ns", "dispatch_ns", "crossing_only_ns",
        "empty_kernel_ns", "lua_syscall_est_ns", "nested_call_ns", "one_nested_ns",
        "nested_over_crossing", "one_nested_over_crossing", "nested64_over_direct64")}
    for r in range(rounds):
        x = ns["crossing"][r]
        b = ns["burst64"][r]
        d = ns["dispatch"][r]
        n0, n1, n64 = ns["nested0"][r], ns["nested1"][r], ns["nested64"][r]
        call = (n64 - n0) / nested
        out["crossing_ns"].append(x)
        out["direct_in_burst_ns"].append(b / burst)
        out["dispatch_ns"].append(d)
        out["crossing_only_ns"].append(x - d)
        out["empty_kernel_ns"].append(ns["empty"][r])
        out["lua_syscall_est_ns"].append(x - d + ns["empty"][r])
        out["nested_call_ns"].append(call)
        out["one_nested_ns"].append(n1 - n0)
        out["nested_over_crossing"].append(call / x)
        out["one_nested_over_crossing"].append((n1 - n0) / x)
        out["nested64_over_direct64"].append((x - d + n64) / b)
    return out


def summarize_run(raw: dict[str, Any]) -> dict[str, Any]:
    """Median and 95 % interval of every workload and derived figure of one driver run."""
    ns = raw["ns_per_op"]
    res: dict[str, Any] = {}
    for name, xs in [*ns.items(), *derived(ns, raw.get("burst", BURST),
                                            raw.get("nested", NESTED)).items()]:
        med, lo, hi = median_ci(xs)
        res[name] = {"median": med, "ci_low": lo, "ci_high": hi}
    return res


def across_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per figure: the median of the runs' medians and their range (the run-to-run spread)."""
    out: dict[str, Any] = {}
    for name in runs[0]:
        meds = [r[name]["median"] for r in runs]
        out[name] = {"median": statistics.median(meds), "min": min(meds), "max": max(meds),
                     "runs": meds}
    return out


def cpu_model(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def mitigations(vuln_dir: Path = Path("/sys/devices/system/cpu/vulnerabilities")
                ) -> dict[str, str]:
    if not vuln_dir.is_dir():
        return {}
    return {p.name: p.read_text().strip() for p in sorted(vuln_dir.iterdir())}


def environment() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    flags = next((ln.split(":", 1)[1].split() for ln in cpuinfo.splitlines()
                  if ln.startswith("flags")), [])
    return {
        "cpu_model": cpu_model(cpuinfo),
        "cpus": os.cpu_count(),
        "cpu_flags_of_note": [f for f in ("pcid", "smap", "fsrm", "ibrs_enhanced", "pti",
                                          "hypervisor", "constant_tsc") if f in flags],
        "mitigations": mitigations(),
        "kernel": os.uname().release,
        "compiler": run(["gcc", "--version"], capture=True).stdout.splitlines()[0],
        "loadavg": Path("/proc/loadavg").read_text().split()[:3]
        if Path("/proc/loadavg").exists() else None,
    }


TARGETS = {"nested_over_crossing": 0.5, "nested64_over_direct64": 0.5}
EARLIER_REPLICA = {"nested_over_crossing": 0.70, "nested64_over_direct64": 0.74}

ROWS = (
    ("crossing_ns", "host getppid() crossing (native, incl. its in-kernel body)", "ns"),
    ("direct_in_burst_ns", "host getppid() in a burst of 64, per call", "ns"),
    ("dispatch_ns", "replica: x64_sys_call(getppid), the crossing's in-kernel body", "ns"),
    ("empty_kernel_ns", "replica: empty lua_syscall(), in-kernel part", "ns"),
    ("lua_syscall_est_ns", "empty lua_syscall() on this CPU (crossing - body + in-kernel)",
     "ns"),
    ("nested_call_ns", "nested sys.getppid(), (n=64 - n=0) / 64", "ns"),
    ("one_nested_ns", "one nested sys.getppid(), n=1 - n=0", "ns"),
    ("nested_over_crossing", "nested call / crossing (target <= 0.5)", "ratio"),
    ("one_nested_over_crossing", "one nested call / crossing", "ratio"),
    ("nested64_over_direct64", "one lua_syscall() with 64 nested / 64 direct (target <= 0.5)",
     "ratio"),
)


def _fmt(x: float, unit: str) -> str:
    return f"{x:.3f}" if unit == "ratio" else f"{x:.1f}"


def markdown(doc: dict[str, Any]) -> str:
    env = doc["environment"]
    lines = [f"# native clock ({doc['utc']})", "", f"**{LABEL}.**", "",
             f"CPU: {env['cpu_model']} ({env['cpus']} CPUs; flags: "
             f"{', '.join(env['cpu_flags_of_note'])}); host kernel {env['kernel']}; "
             f"{env['compiler']}; load average {' '.join(env['loadavg'] or [])}.",
             f"Source: kernel tree commit {doc['source']['kernel_commit'][:12]}, flags of "
             f"{doc['source']['bench_build']}.", "",
             "Mitigations: " + "; ".join(f"{k}: {v}" for k, v in env["mitigations"].items()
                                          if v != "Not affected") + ".", ""]
    for name, v in doc["variants"].items():
        runs = v["runs"]
        lines += [f"## flags: {name}", "",
                  f"{len(runs)} runs x {v['rounds']} interleaved rounds; per run the median "
                  "over rounds with its 95 % interval; over runs the median of the run "
                  "medians and their range.", "",
                  "| figure | " + " | ".join(f"run {i + 1}" for i in range(len(runs)))
                  + " | over runs (min-max) |",
                  "|---|" + "---:|" * (len(runs) + 1)]
        for key, label, unit in ROWS:
            cells = " | ".join(
                f"{_fmt(r[key]['median'], unit)} [{_fmt(r[key]['ci_low'], unit)}, "
                f"{_fmt(r[key]['ci_high'], unit)}]" for r in runs)
            a = v["summary"][key]
            lines.append(f"| {label} | {cells} | **{_fmt(a['median'], unit)}** "
                         f"({_fmt(a['min'], unit)}-{_fmt(a['max'], unit)}) |")
        census = v["standins_per_op"]
        lines += ["", "Stand-ins called by one operation (the rest is real kernel code): "
                  + "; ".join(f"{w}: " + ", ".join(f"{k} {n}" for k, n in c.items() if n)
                              for w, c in census.items()), ""]
    lines += ["## Against the targets", ""]
    kernel = doc["variants"].get(Variant().name)
    if kernel:
        for key, target in TARGETS.items():
            got = kernel["summary"][key]["median"]
            lines.append(f"- {key.replace('_', ' ')}: {got:.2f} (target <= {target}; an "
                         f"earlier outside replica: {EARLIER_REPLICA[key]}): "
                         f"{'met' if got <= target else 'missed'}")
    lines += ["", "## What is real and what is a stand-in", ""]
    lines += [f"- real: {t}" for t in REAL_CODE]
    lines += [f"- stand-in: {t}" for t in STAND_INS]
    return "\n".join(lines) + "\n"


def plot(doc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ("crossing_ns", "direct_in_burst_ns", "empty_kernel_ns", "lua_syscall_est_ns",
            "nested_call_ns", "one_nested_ns")
    labels = ("host getppid()\ncrossing", "host getppid()\nin a burst",
              "replica: empty\nlua_syscall()", "empty lua_syscall()\n(est. total)",
              "nested call\n(64-loop)", "one nested\ncall")
    variants = list(doc["variants"])
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(len(variants), 1)
    for i, name in enumerate(variants):
        s = doc["variants"][name]["summary"]
        meds = [s[k]["median"] for k in keys]
        err = [[m - s[k]["min"] for m, k in zip(meds, keys, strict=True)],
               [s[k]["max"] - m for m, k in zip(meds, keys, strict=True)]]
        ax.bar([j + i * width for j in range(len(keys))], meds, width, yerr=err, capsize=3,
               label=name)
    ax.set_xticks([j + width * (len(variants) - 1) / 2 for j in range(len(keys))])
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("ns per operation (median of runs, bars: run range)")
    ax.set_title(f"native clock on {doc['environment']['cpu_model']}: a replica, not the "
                 "kernel", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def latest_results() -> Path | None:
    """native.json of the newest native-clock run that timed the kernel's own flags, if any
    (a run of other code-generation variants only is no input for the projection)."""
    root = results_root()
    for path in sorted(root.glob("*/native.json"), reverse=True) if root.is_dir() else []:
        try:
            variants = json.loads(path.read_text()).get("variants") or {}
        except (OSError, ValueError):
            continue
        if Variant().name in variants:
            return path
    return None


def projection_inputs(native: dict[str, Any]) -> dict[str, float] | None:
    """What the hardware projection takes from a native.json: ns per crossing, per nested
    call and per empty lua_syscall() (in-kernel part), of the kernel's own flags."""
    v = (native.get("variants") or {}).get(Variant().name)
    if not v:
        return None
    s = v["summary"]
    return {"crossing_ns": s["crossing_ns"]["median"],
            "nested_call_ns": s["nested_call_ns"]["median"],
            "empty_kernel_ns": s["empty_kernel_ns"]["median"],
            "cpu_model": native["environment"]["cpu_model"], "utc": native["utc"]}


# ---------------------------------------------------------------------------------------------
# The verb


def native_clock(variants: list[str] | None = None, runs: int = 3, rounds: int = 41,
                 sample_us: int = 200, cpu: int | None = None) -> int:
    """Build the replica for each flags variant, run the driver runs times per variant
    (variants alternating), write native.md, native.json and native.png."""
    chosen = [Variant.parse(v) for v in (variants or DEFAULT_VARIANTS)]
    if len({v.name for v in chosen}) != len(chosen):
        raise HarnessError("a flags variant is listed twice")
    work = work_dir()
    work.mkdir(parents=True, exist_ok=True)
    say("native-clock: copying the sources and build commands (build/linux, build/bench)")
    source = snapshot(work)
    binaries = {v.name: build_variant(v, work, source["kernel_tree"]) for v in chosen}
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = results_root() / stamp
    out.mkdir(parents=True, exist_ok=True)
    raws: dict[str, list[dict[str, Any]]] = {v.name: [] for v in chosen}
    for i in range(runs):
        for v in chosen:
            say(f"native-clock: run {i + 1}/{runs}, {v.name} ({rounds} rounds)")
            argv = [str(binaries[v.name]), "--rounds", str(rounds), "--sample-us",
                    str(sample_us), *(["--cpu", str(cpu)] if cpu is not None else [])]
            res = run(argv, capture=True, timeout=600)
            raws[v.name].append(json.loads(res.stdout))
    doc: dict[str, Any] = {"label": LABEL, "utc": stamp, "environment": environment(),
                           "source": source, "real": list(REAL_CODE),
                           "stand_ins": list(STAND_INS), "targets": TARGETS,
                           "earlier_replica": EARLIER_REPLICA, "variants": {}}
    for v in chosen:
        per_run = [summarize_run(r) for r in raws[v.name]]
        stubs = json.loads((work / v.name / "stubs.json").read_text())
        doc["variants"][v.name] = {
            "flags": asdict(v), "rounds": rounds, "sample_us": sample_us,
            "standins_per_op": raws[v.name][0]["standins_per_op"],
            "unreachable_stubs": stubs["unreachable"],
            "runs": per_run, "summary": across_runs(per_run), "raw": raws[v.name]}
    (out / "native.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out / "native.md").write_text(markdown(doc))
    plot(doc, out / "native.png")
    say(f"native-clock: results in {out}")
    print(markdown(doc))
    return 0
