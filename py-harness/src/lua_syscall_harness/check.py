"""`lua-syscall check FILE.lua`: the kernel's registration log, on the host, before any boot.

The checker is the kernel's own registration code run in user space: build/check/lua_check
is a replica like native-clock's (native_clock.py), whose machinery it reuses. The Lua 5.4.7
core, the series' runtime, libraries and registration code (kernel/lua/*.c: lua_syscall,
lua_syscall_log, lua_chunk_check, lua_syslib with the generated x86-64 name table,
lua_sysconst, lua_memlib, lua_nested, ...), arch/x86/kernel/lua_syscall_64.c,
arch/x86/lib/lua_setjmp.S and the system call dispatcher arch/x86/entry/syscall_64.c are
compiled from build/linux's HEAD (`git archive`, never its working tree) with a kernel
build's headers, generated files and per-file gcc flags (its .o.cmd files), minus the
sanitizers' and ftrace's instrumentation (-fsanitize=*, -pg: user space has no shadow
memory), with -mcmodel=small for -mcmodel=kernel. The driver (py-harness/native/
check_main.c) calls register_lua_syscall() through the kernel's x64_sys_call(), with a log
buffer of LUA_SYSCALL_LOG_MAX bytes at the warnings level, and prints the log the kernel
code wrote, byte for byte.

What is not the kernel's (py-harness/native/kstub.c and check_stub.c): the allocator
(glibc malloc: the memory budget is counted by the runtime, not the allocator, so it is
the kernel's), the fd table, capable() (true: the checker registers as root would, and
kernel.lua_syscall.* are the kernel's compiled-in defaults), lockdep and KASAN hooks
(no-ops). Nothing runs on the script's behalf: every nested system call at the top level
returns -ENOSYS (after the kernel's own denial checks), and the only user memory is the
registration's own buffers, so mem.* at the top level fails with EFAULT as for an unmapped
address. The sys name table is the kernel build's generated kernel/lua/lua_syscall_names.h
(x86-64), the constants those of x86-64.

The kernel build whose flags and generated headers are used: the first of debug, bench,
stack16 (or --kernel-build) that has every object's .o.cmd, i.e. was built from a tree with
this series; the build is cached in build/check/ and redone when build/linux's HEAD, the
build's commands or the stand-ins change.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import native_clock as nc
from .layout import HARNESS_DIR, build_root, kernel_tree, variant_dir
from .proc import HarnessError, git, run

# The objects and generated headers of native-clock's replica, which registers too.
CHECK_OBJECTS = nc.KERNEL_OBJECTS
GENERATED = nc.GENERATED
KERNEL_BUILDS = ("debug", "bench", "stack16")
# The C sources of the checker besides the kernel's.
NATIVE_SOURCES = ("kstub.c", "check_stub.c", "native_asm.S", "native_glue.c",
                  "check_main.c", "native.h")
# kstub.c's definitions that check_stub.c replaces (the strong definitions win).
OVERRIDDEN = ("_copy_from_user", "_copy_to_user", "vmemdup_user", "__x64_sys_getppid")
# The kernel's string routines under a KASAN config, for objects built without KASAN.
KASAN_STRING = {"__memcpy": "memcpy", "__memset": "memset", "__memmove": "memmove"}
# Bump when the build recipe below changes.
RECIPE = 1

LOG_MAX = 8192  # LUA_SYSCALL_LOG_MAX
LOG_ERRORS, LOG_WARNINGS = 1, 2
CORPUS_DIR = HARNESS_DIR / "tests" / "check_corpus"


def work_dir() -> Path:
    return build_root() / "check"


def binary_path() -> Path:
    return work_dir() / "lua_check"


def expected_path() -> Path:
    """The corpus' expected logs, written on the host for the guest test."""
    return work_dir() / "expected.json"


def _complete(obj_tree: Path) -> bool:
    return all((obj_tree / Path(o).parent / f".{Path(o).name}.cmd").exists()
               for o in CHECK_OBJECTS) and all((obj_tree / g).exists() for g in GENERATED)


def kernel_build(name: str | None = None) -> Path:
    """The kernel build directory whose flags and generated headers the checker uses."""
    names = (name,) if name else KERNEL_BUILDS
    for n in names:
        d = variant_dir(n)
        if _complete(d):
            return d
    raise HarnessError(
        f"no kernel build of this series in {' or '.join(str(variant_dir(n)) for n in names)}"
        " (the checker compiles the kernel's registration code with a build's gcc flags and "
        "generated headers): run `lua-syscall tree` and `lua-syscall build`")


def strip_instrumentation(argv: list[str]) -> list[str]:
    """A kernel compile command without the sanitizers' and ftrace's instrumentation."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--param" and i + 1 < len(argv) and argv[i + 1].startswith(
                ("asan-", "hwasan-", "tsan-")):
            i += 2
            continue
        if a.startswith(("-fsanitize", "-fasan-", "--param=asan-", "--param=tsan-",
                         "-fpatchable-function-entry")) or a in (
                "-pg", "-mrecord-mcount", "-mfentry", "-mnop-mcount"):
            i += 1
            continue
        out.append(a)
        i += 1
    return out


def _digest(obj_tree: Path, sources: str) -> str:
    h = hashlib.sha256(f"{RECIPE}\n{sources}\n{obj_tree}\n".encode())
    for o in CHECK_OBJECTS:
        cmd = obj_tree / Path(o).parent / f".{Path(o).name}.cmd"
        h.update(shlex.join(nc.saved_command(cmd)).encode())
    for g in (*GENERATED, "include/generated/autoconf.h"):
        p = obj_tree / g
        h.update(p.read_bytes() if p.exists() else b"-")
    for n in NATIVE_SOURCES:
        h.update((nc.NATIVE_DIR / n).read_bytes())
    return h.hexdigest()


@contextmanager
def _lock() -> Iterator[None]:
    work_dir().mkdir(parents=True, exist_ok=True)
    with open(work_dir() / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _note(msg: str) -> None:
    print(f"[lua-syscall] {msg}", file=sys.stderr, flush=True)


def ensure_built(build: str | None = None) -> Path:
    """build/check/lua_check, built unless the cached one is of the same sources and flags."""
    obj_tree = kernel_build(build)
    src_tree = kernel_tree()
    # the git objects of what the snapshot holds: a commit that changes none is no rebuild
    sources = git(src_tree, "rev-parse", *(f"HEAD:{p}" for p in nc._source_paths(CHECK_OBJECTS)))
    digest = _digest(obj_tree, sources)
    stamp = work_dir() / "stamp.json"
    with _lock():
        if binary_path().exists() and stamp.exists() and json.loads(
                stamp.read_text()).get("digest") == digest:
            return binary_path()
        _note(f"check: building the checker from {src_tree} (HEAD) with the flags of "
              f"{obj_tree}")
        source = nc.snapshot(work_dir(), obj_tree=obj_tree, objects=CHECK_OBJECTS,
                             generated=GENERATED)
        _build(work_dir(), str(src_tree))
        stamp.write_text(json.dumps({"digest": digest, **source}, indent=1) + "\n")
    return binary_path()


def _build(work: Path, src_tree: str) -> None:
    objdir = work / "kobj"
    if objdir.exists():
        shutil.rmtree(objdir)
    objdir.mkdir(parents=True)
    src, obj = work / "src", work / "obj"
    variant = nc.Variant()
    cmds: list[list[str]] = []
    objs: list[Path] = []
    for o in CHECK_OBJECTS:
        cmd_file = obj / Path(o).parent / f".{Path(o).name}.cmd"
        argv = strip_instrumentation(nc.saved_command(cmd_file))
        target = objdir / Path(o).name
        cmds.append(nc.user_space_command(argv, src_tree=src_tree, obj_tree=str(obj), src=src,
                                          obj=obj, out=target, variant=variant))
        objs.append(target)
    nested = cmds[CHECK_OBJECTS.index("kernel/lua/lua_nested.o")]
    native = nc.NATIVE_DIR
    stubs_c = []
    for name in ("kstub", "check_stub"):
        target = objdir / f"{name}.o"
        cmds.append(["gcc", *nc.kernel_flags(nested), f"-I{native}", "-DKBUILD_MODNAME=\"nc\"",
                     f"-DKBUILD_BASENAME=\"{name}\"", "-c", "-o", str(target),
                     str(native / f"{name}.c")])
        stubs_c.append(target)
    asm, glue, main = objdir / "native_asm.o", objdir / "native_glue.o", objdir / "check_main.o"
    cmds.append(["gcc", "-c", "-DNC_RETHUNK", "-o", str(asm), str(native / "native_asm.S")])
    cmds.append(["gcc", *nc.USER_CFLAGS, "-mstackrealign", "-c", "-o", str(glue),
                 str(native / "native_glue.c")])
    cmds.append(["gcc", *nc.USER_CFLAGS, f"-I{native}", f"-iquote{src}/include/uapi/linux",
                 "-c", "-o", str(main), str(native / "check_main.c")])
    _note(f"check: compiling {len(cmds)} objects")
    nc._parallel(cmds, max(2, (os.cpu_count() or 2)))
    renames = [f"--redefine-sym={a}={b}" for a, b in {**nc.RENAMED, **KASAN_STRING}.items()]
    for o in objs:
        run(["objcopy", *renames, str(o)])
    run(["objcopy", *(f"--weaken-symbol={s}" for s in OVERRIDDEN), str(stubs_c[0])])
    kernel_o = objdir / "kernel.o"
    run(["ld", "-r", "-z", "noexecstack", "-o", str(kernel_o), *map(str, objs),
         *map(str, stubs_c)])
    stubs_src, unreachable, data = nc.generated_stubs(nc._undefined(kernel_o))
    (objdir / "stubs.S").write_text(stubs_src)
    run(["gcc", "-c", "-o", str(objdir / "stubs.o"), str(objdir / "stubs.S")])
    tmp = work / "lua_check.new"
    run(["gcc", "-no-pie", "-o", str(tmp), str(main), str(kernel_o), str(objdir / "stubs.o"),
         str(asm), str(glue), "-Wl,--defsym=const_pcpu_hot=pcpu_hot", "-Wl,-z,noexecstack"])
    (work / "stubs.json").write_text(json.dumps({"unreachable": unreachable, "data": data},
                                                indent=1) + "\n")
    tmp.replace(work / "lua_check")


# ---------------------------------------------------------------------------------------------
# Checking scripts


@dataclass
class CheckResult:
    """What the kernel would do with one script: its log, and the errno of a refusal."""

    file: str
    log: str
    accepted: bool
    errno: str | None  # e.g. "EINVAL"; None when accepted

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_file(path: Path, *, name: str | None = None, errors_only: bool = False,
               binary: Path | None = None) -> CheckResult:
    """Register the script at path with the replica; the log as the kernel writes it."""
    exe = binary or ensure_built()
    argv = [str(exe), "--level", str(LOG_ERRORS if errors_only else LOG_WARNINGS),
            "--log-size", str(LOG_MAX)]
    if name is not None:
        argv += ["--name", name]
    argv.append(str(path))
    res = subprocess.run(argv, capture_output=True, check=False, timeout=120)
    err = res.stderr.decode(errors="replace")
    if res.returncode < 0:
        raise HarnessError(f"{exe} {path}: killed by signal {-res.returncode} (a kernel path "
                           f"the checker does not replicate?): {err.strip()[-2000:]}")
    if res.returncode not in (0, 1):
        raise HarnessError(f"{exe} {path} failed ({res.returncode}): {err.strip()[-2000:]}")
    errno_name = None
    if res.returncode == 1:
        refused = [ln for ln in err.splitlines() if ln.startswith("refused: ")]
        if not refused:
            raise HarnessError(f"{exe} {path}: exit 1 without a refusal: {err.strip()}")
        errno_name = refused[-1].removeprefix("refused: ").strip()
    return CheckResult(file=str(path), log=res.stdout.decode(errors="replace"),
                       accepted=res.returncode == 0, errno=errno_name)


def corpus_files() -> list[Path]:
    return sorted(CORPUS_DIR.glob("*.lua"))


def corpus_name(path: Path) -> str | None:
    """A corpus script's state name: from a first line `-- name: NAME`, else none."""
    first = path.read_bytes().split(b"\n", 1)[0]
    if first.startswith(b"-- name: "):
        return first.removeprefix(b"-- name: ").decode().strip()
    return None


def write_expected(path: Path | None = None, build: str | None = None) -> Path:
    """Check every corpus script on the host; write what the kernel's log must say."""
    exe = ensure_built(build)
    out = path or expected_path()
    stamp = json.loads((work_dir() / "stamp.json").read_text())
    doc: dict[str, Any] = {"kernel_commit": stamp["kernel_commit"],
                           "kernel_build": stamp["bench_build"], "log_size": LOG_MAX,
                           "scripts": {}}
    for f in corpus_files():
        name = corpus_name(f)
        res = check_file(f, name=name, binary=exe)
        errors = check_file(f, name=name, errors_only=True, binary=exe)
        doc["scripts"][f.name] = {"sha256": hashlib.sha256(f.read_bytes()).hexdigest(),
                                  "name": name, **res.as_dict(),
                                  "log_errors_only": errors.log}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    return out


def check(files: Sequence[str], *, name: str | None = None, errors_only: bool = False,
          as_json: bool = False, build: str | None = None, corpus: bool = False) -> int:
    """The verb: print each script's log as the kernel would write it; 1 if any is refused."""
    exe = ensure_built(build)
    if corpus:
        out = write_expected(build=build)
        _note(f"check: the corpus' expected logs are in {out}")
        if not files:
            return 0
    if not files:
        raise HarnessError("no script given")
    results = []
    for f in files:
        p = Path(f)
        if f != "-" and not p.is_file():
            raise HarnessError(f"{f}: no such file")
        results.append(check_file(p, name=name, errors_only=errors_only, binary=exe))
    if as_json:
        print(json.dumps([r.as_dict() for r in results], indent=1))
    else:
        for r in results:
            if len(results) > 1:
                print(f"== {r.file} ==", flush=True)
            sys.stdout.write(r.log)
            sys.stdout.flush()
            if not r.accepted:
                print(f"{r.file}: refused: {r.errno}", file=sys.stderr, flush=True)
    return 0 if all(r.accepted for r in results) else 1
