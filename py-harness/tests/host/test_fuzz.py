"""Host tests of the fuzzer: generator determinism, corpus format, minimiser, leak reports."""

from __future__ import annotations

import re

import pytest

from lua_syscall_harness.fuzz import corpus, grammar, layout, leaks, minimise, tools


def test_same_seed_gives_same_programs():
    first = grammar.programs(42, 60)
    again = grammar.programs(42, 60)
    assert [p.encode() for p in first] == [p.encode() for p in again]


def test_a_program_regenerates_alone():
    batch = grammar.programs("s", 30)
    assert grammar.program("s", 17).encode() == batch[17].encode()


def test_other_seed_gives_other_programs():
    a = [p.script for p in grammar.programs(1, 20)]
    b = [p.script for p in grammar.programs(2, 20)]
    assert a != b


def test_generator_covers_the_libraries():
    text = b"\n".join(p.script for p in grammar.programs(7, 800))
    for word in (b"sys.", b"mem.", b"coroutine.", b"string.", b"table.", b"utf8.", b"math.",
                 b"setmetatable", b"pcall", b"__index", b"string.rep", b"sys.call(",
                 b"return function"):
        assert word in text, word


def test_generator_makes_near_valid_programs():
    scripts = [p.script for p in grammar.programs(3, 400)]
    assert any(s.startswith(b"\x1bLua") for s in scripts)
    assert any(b"return function" not in s for s in scripts)


def test_corpus_round_trip(tmp_path):
    progs = grammar.programs(5, 50)
    path = tmp_path / "corpus"
    assert corpus.write_corpus(path, progs) == 50
    back = corpus.read_corpus(path)
    assert [p.encode() for p in back] == [p.encode() for p in progs]


def test_results_parse_into_outcomes():
    text = ("R 1 reg=5 calls=3,-8 nth=-1 info=1\n"
            "R 2 reg=-22 calls= nth=1 info=1\n"
            "K 3 BUG: KASAN: slab-out-of-bounds in luaH_get\n"
            "R 3 reg=4 calls=0 nth=-1 info=1\n"
            "C 4 worker killed by signal 11\n"
            "R 5 reg=4 calls=1 nth=-1 info=0\n")
    out = corpus.parse_results(text)
    assert out[1].calls == [3, -8] and not out[1].failed
    assert out[1].errnos() == ["call:ENOEXEC"]
    assert out[2].errnos() == ["register:EINVAL"] and out[2].nth_fired == 1
    assert out[3].failed and out[3].splats
    assert out[4].failed and "signal 11" in out[4].crash
    assert out[5].failed
    hist = corpus.errno_histogram(out.values())
    assert hist["call:ENOEXEC"] == 1 and hist["register:EINVAL"] == 1


def test_layout_matches_the_executor():
    assert tools.c_defines(tools.FUZZ_EXEC) == layout.C_DEFINES


def test_minimiser_keeps_the_failure_and_drops_the_rest():
    text = "\n".join(f"local x{i} = {i}" for i in range(40)) + "\nBOOM(x7)\n" + \
        "\n".join(f"y{i} = 1" for i in range(40)) + "\n"
    calls = []

    def oracle(texts):
        calls.append(len(texts))
        return ["BOOM" in t and "x7" in t for t in texts]

    small = minimise.minimise(text, oracle)
    assert "BOOM" in small and "x7" in small
    assert len(small) <= len("BOOM(x7)") + 1
    assert len(calls) < 60


def test_minimiser_returns_input_when_nothing_smaller_fails():
    assert minimise.minimise("a b", lambda ts: [t == "a b" for t in ts]) == "a b"


KMEMLEAK = """unreferenced object 0xffff888004a3c000 (size 64):
  comm "lua_fuzz_exec", pid 97, jiffies 4294938100
  hex dump (first 32 bytes):
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
  backtrace (crc 0):
    [<ffffffff8123>] __kmalloc_noprof+0x1/0x2
    [<ffffffff8124>] luak_alloc+0x3/0x4
unreferenced object 0xffff888004a3d000 (size 32):
  comm "swapper/0", pid 1, jiffies 4294937000
  backtrace (crc 0):
    [<ffffffff8125>] kmem_cache_alloc_noprof+0x1/0x2
    [<ffffffff8126>] p9_client_create+0x3/0x4
"""


def test_kmemleak_report_is_parsed_and_attributed():
    found = leaks.parse(KMEMLEAK)
    assert [(x.address, x.size, x.comm) for x in found] == [
        ("0xffff888004a3c000", 64, "lua_fuzz_exec"), ("0xffff888004a3d000", 32, "swapper/0")]
    assert found[0].ours and not found[1].ours
    assert "luak_alloc" in found[0].summary()


def test_oom_report_trace_is_not_a_splat_but_a_warning_inside_is():
    log = ("[ 1.0] lua_stress invoked oom-killer: gfp_mask=0xcc0\n"
           "[ 1.1] Call Trace:\n[ 1.2]  dump_stack_lvl+0x1\n"
           "[ 1.3] WARNING: CPU: 0 PID: 5 at mm/x.c:1\n"
           "[ 1.4] Memory cgroup out of memory: Killed process 5 (lua_stress)\n"
           "[ 2.0] Call Trace:\n")
    cleaned = leaks.without_oom_reports(log)
    assert cleaned.count("Call Trace:") == 1
    assert "WARNING:" in cleaned


def test_kept_failing_program_reads_back(tmp_path):
    from lua_syscall_harness.fuzz import runner

    prog = grammar.program(9, 3)
    outcome = corpus.Outcome(prog.id, crash="worker killed by signal 11")
    path = runner.keep_failing(prog, outcome, tmp_path)
    back = runner.read_kept(path)
    assert back.script == prog.script
    assert back.params == prog.params and back.args == prog.args


def test_guest_command_runs_every_shard_and_scans_for_leaks(tmp_path):
    from lua_syscall_harness.fuzz import runner

    cmd = runner.guest_command(tmp_path / "exec", tmp_path / "corpus", 30, tmp_path / "stress",
                               20, shards=2)
    assert "0/2" in cmd and "1/2" in cmd and "wait $pid1" in cmd
    assert cmd.index("stress") > cmd.index("wait $pid1")
    assert cmd.count("echo scan") >= 2 and "echo clear" in cmd


def test_sigsegv_is_excused_only_with_fault_injection_armed():
    armed = corpus.Program(1, b"", {"nth_call": 3})
    plain = corpus.Program(2, b"", {})
    kernel = "worker SIGSEGV from the kernel (si_code 128, address 0)"
    out_armed = corpus.Outcome(1, crash=kernel)
    out_plain = corpus.Outcome(2, crash=kernel)
    out_own = corpus.Outcome(1, crash="worker SIGSEGV in user space (si_code 1, address 0x8)")
    out_abort = corpus.Outcome(1, crash="worker killed by signal 6")
    for out, prog in ((out_armed, armed), (out_plain, plain), (out_own, armed),
                      (out_abort, armed)):
        out.excuse_injected_fault(prog)
    assert not out_armed.failed and out_armed.crash_excused
    assert out_plain.failed and out_own.failed and out_abort.failed


def test_executor_tells_a_kernel_sigsegv_from_its_own():
    from lua_syscall_harness.fuzz import tools

    text = tools.source(tools.FUZZ_EXEC).read_text()
    assert f'"{corpus.KERNEL_SIGSEGV[len("SIGSEGV "):]}"' in text and "SI_KERNEL" in text


def test_long_run_is_split_over_boots_with_budget_shares():
    from lua_syscall_harness.fuzz import runner

    progs = [corpus.Program(i, b"") for i in range(10500)]
    boots = runner.split_into_boots(progs, 2100, programs_given=True, per_boot=4000)
    assert len(boots) == 3
    assert [p.id for chunk, _ in boots for p in chunk] == list(range(10500))
    assert all(len(chunk) <= 4000 for chunk, _ in boots)
    assert sum(secs for _, secs in boots) == 2100


def test_time_only_run_gets_the_boots_its_budget_could_fill():
    from lua_syscall_harness import suite
    from lua_syscall_harness.fuzz import runner

    budget = suite.FUZZ_SECONDS  # the test job's run: one boot
    short = [corpus.Program(i, b"") for i in range(budget * runner.PROGRAMS_PER_SECOND)]
    assert len(runner.split_into_boots(short, budget, programs_given=False)) == 1
    long_ = [corpus.Program(i, b"") for i in range(3000 * runner.PROGRAMS_PER_SECOND)]
    boots = runner.split_into_boots(long_, 3000, programs_given=False, per_boot=4000)
    assert len(boots) == -(-3000 * runner.FASTEST_RATE // 4000)
    assert all(secs * runner.FASTEST_RATE <= len(chunk) <= 4000 for chunk, secs in boots)
    assert abs(sum(secs for _, secs in boots) - 3000) <= len(boots)  # rounding


def test_stack_depot_stats_are_read_and_a_full_depot_is_explained(tmp_path):
    from lua_syscall_harness.fuzz import runner

    cmd = runner.guest_command(tmp_path / "exec", tmp_path / "corpus", 30, None, 0)
    assert "stackdepot/stats" in cmd
    stats = tmp_path / "stackdepot"
    stats.write_text("pools: 4242\npersistent_count: 10\nfreelist_size: 0\n")
    assert runner.depot_pools(stats) == 4242
    assert runner.depot_pools(tmp_path / "absent") is None
    report = runner.FuzzReport(seed=1, generated=1, run_dirs=[tmp_path], leak_scans=1)
    assert report.problems() == []
    report.kernel_splats.append("boot 1 of 1: WARNING: CPU: 0 PID: 1 at lib/stackdepot.c:252 "
                                "Stack depot reached limit capacity")
    assert any("--programs-per-boot" in p for p in report.problems())
    report.leak_scans = 0
    assert any("kmemleak scan ran in 0 of 1 boots" in p for p in report.problems())


def test_extracted_program_is_the_seeds_program(tmp_path, monkeypatch):
    from lua_syscall_harness.fuzz import runner

    monkeypatch.setattr(runner, "fuzz_dir", lambda: tmp_path)
    back = runner.read_kept(runner.extract("long-3", 17))
    want = grammar.program("long-3", 17)
    assert (back.script, back.params, back.args) == (want.script, want.params, want.args)


def test_minimise_symptoms():
    from lua_syscall_harness.fuzz import runner
    from lua_syscall_harness.proc import HarnessError

    eio = corpus.Outcome(1, reg=3, calls=[0, -5])
    splat = corpus.Outcome(2, reg=3, splats=["WARNING: x"])
    assert runner.symptom_check("call:EIO")(eio)
    assert not runner.symptom_check("register:EIO")(eio)
    assert not runner.symptom_check("call:EIO")(splat)
    assert runner.symptom_check(runner.FAILURE)(splat)
    assert not runner.symptom_check(runner.FAILURE)(eio)
    with pytest.raises(HarnessError):
        runner.symptom_check("EIO")


def test_lua_tokens_join_back_into_any_text():
    for i in range(300):
        text = grammar.program("tokens", i).script.decode("utf-8", errors="surrogateescape")
        assert "".join(minimise.tokens_of(text)) == text
    odd = "x = 'unterminated\n--[==[ long\ncomment ]==] s = [[a]] .. \"q\\\"\" // 0x1F"
    assert "".join(minimise.tokens_of(odd)) == odd
    assert [t.strip() for t in minimise.tokens_of("a.b..c...d")] == \
        ["a", ".", "b", "..", "c", "...", "d"]


def test_minimiser_drops_a_whole_block_ddmin_cannot_split():
    text = ("return function(a, b) if (a + b) > 3 then pcall(function() end) end\n"
            "return ~#'' end\n")
    def spans(source):
        tokens = minimise.tokens_of(source)
        return {"".join(tokens[a:b + 1]).strip() for a, b in minimise.blocks(tokens)}

    assert "if (a + b) > 3 then pcall(function() end) end" in spans(text)
    assert "while x do y() end" in spans("while x do y() end z()")
    assert "for k in t do y() end" in spans("for k in t do y() end")

    def oracle(texts):  # "fails" while it still returns ~#'' from a function
        return ["~#''" in t and t.count("function") >= 1 and t.count("end") >= 1 and
                t.count("(") == t.count(")") for t in texts]

    small = minimise.minimise(text, oracle)
    assert "if" not in small and "pcall" not in small
    assert "~#''" in small


def test_generator_covers_masks_and_close_loops():
    text = b"\n".join(p.script for p in grammar.programs(11, 800))
    for word in (b"sys.ppoll(", b"sys.pselect6(", b"sys.epoll_pwait(", b"sys.epoll_pwait2(",
                 b"sys.rt_sigprocmask(", b"sys.openat(-100, ", b"sys.pipe2(", b"sys.close(f)",
                 str(layout.DATA + layout.SIGSET_FULL).encode(),
                 str(layout.DATA + layout.SIG6_OFF + 2 * layout.SIG6_SIZE).encode()):
        assert word in text, word
    # a wrong sigsetsize and an invalid mask pointer are among the arguments
    assert re.search(rb"sys\.ppoll\([^)]*, (0|4|16|128)\)", text)
    assert re.search(rb"sys\.epoll_pwait\([^)]*, %d, 8\)" % layout.HOLE, text)


def test_masks_never_block_sigalrm_for_good_nor_wait_for_long():
    """SIGALRM ends the calls blocked for good: a lasting mask must never block it, and a
    temporary one only around a call that returns at once."""
    text = b"\n".join(p.script for p in grammar.programs(12, 1500)).decode(
        "utf-8", errors="surrogateescape")
    full = layout.DATA + layout.SIGSET_FULL
    masks = re.findall(r"sys\.rt_sigprocmask\(\d+, (\d+),", text)
    assert masks and str(full) not in masks
    quick = {str(layout.DATA + layout.ZTS_OFF), str(layout.DATA + layout.TS_OFF),
             str(layout.HOLE), str(layout.NOACCESS)}
    for m in re.finditer(r"sys\.ppoll\((\d+), (\d+), (\d+),", text):
        assert m.group(3) in quick, m.group(0)
    for m in re.finditer(r"sys\.epoll_pwait2\((\d+), (\d+), (\d+), (\d+),", text):
        assert m.group(4) in quick, m.group(0)
    for m in re.finditer(r"sys\.epoll_pwait\((\d+), (\d+), (\d+), (\d+),", text):
        assert m.group(4) in ("0", "1"), m.group(0)
    for m in re.finditer(r"sys\.pselect6\([^,]+, [^,]+, [^,]+, [^,]+, (\d+),", text):
        assert m.group(1) in quick, m.group(0)


def test_seccomp_programs_are_a_few_with_every_action():
    progs = grammar.programs("sc", 3000)
    chosen = [p for p in progs if "seccomp_nr" in p.params]
    assert 0.04 * len(progs) < len(chosen) < 0.11 * len(progs)
    assert {p.params["seccomp_act"] for p in chosen} == set(grammar.SECCOMP_ACTIONS.values())
    assert {p.params["seccomp_nr"] for p in chosen} <= set(grammar.SECCOMP_NRS.values())
    # mostly a call the script makes
    names = {v: k for k, v in grammar.SECCOMP_NRS.items()}
    used = [p for p in chosen if f"sys.{names[p.params['seccomp_nr']]}(".encode() in p.script]
    assert len(used) > 0.6 * len(chosen)
    for p in chosen:
        assert "seccomp_act" in p.params
        assert f"seccomp_nr={p.params['seccomp_nr']}" in p.params_line()


def test_seccomp_choice_is_a_function_of_seed_and_index():
    for i in range(400):
        a, b = grammar.program("sc2", i), grammar.program("sc2", i)
        assert a.params == b.params
    # the filtered call is never one the executor's child makes itself
    child_calls = {17, 18, 38, 60, 231, 463, 464, 15}
    assert not child_calls & set(grammar.SECCOMP_NRS.values())


def test_kept_failing_program_keeps_its_seccomp_filter(tmp_path):
    from lua_syscall_harness.fuzz import runner

    prog = next(p for p in grammar.programs("sc3", 500) if "seccomp_nr" in p.params)
    outcome = corpus.Outcome(prog.id, crash="seccomp TRAP on nr 110: 1 SIGSYS caught")
    path = runner.keep_failing(prog, outcome, tmp_path)
    head = path.read_text(errors="replace").splitlines()[1]
    assert f"seccomp_nr={prog.params['seccomp_nr']}" in head
    assert f"seccomp_act={prog.params['seccomp_act']}" in head
    back = runner.read_kept(path)
    assert back.params == prog.params
    # a seccomp finding is a failure; an R line with the filter's tag parses as before
    out = corpus.parse_results(f"R {prog.id} reg=5 calls=-54 nth=-1 info=1 "
                               "seccomp=ERRNO/110\n")
    assert out[prog.id].calls == [-54] and not out[prog.id].failed
    # killed by the filter inside the registration: no register errno to count
    killed = corpus.parse_results("R 9 killed=1 calls= nth=-1 info=1 seccomp=KILL_THREAD/62\n")
    assert killed[9].errnos() == [] and not killed[9].failed
    assert outcome.failed


def test_executor_knows_every_seccomp_action_and_the_new_world():
    text = tools.source(tools.FUZZ_EXEC).read_text()
    for name in ("SECCOMP_FILTER_FLAG_NEW_LISTENER", "SECCOMP_IOCTL_NOTIF_RECV",
                 "SECCOMP_USER_NOTIF_FLAG_CONTINUE", "PR_SET_NO_NEW_PRIVS", "SIGSYS",
                 "CLONE_FILES", "sigprocmask(SIG_SETMASK"):
        assert name in text, name
    for act in ("KILL_PROCESS", "KILL_THREAD", "TRAP", "ERRNO", "USER_NOTIF", "TRACE", "LOG",
                "ALLOW"):
        assert f'return "{act}"' in text, act
