"""Random Lua programs for lua_syscall, valid and near-valid, from a seed.

Program n of seed s comes from its own random.Random(f"{s}:{n}"), so any program can be
regenerated alone. A program is a prelude (helpers, metatables, globals that persist
between calls) and an entry whose body mixes every library, metamethods, coroutines, deep
nesting of every kind that crosses C (pcall, __index functions, gsub callbacks, sort
comparators, coroutine resume, the parser), huge strings and tables, and system calls and
memory accesses on the harmless world of layout.py: its own pipes, sockets, buffers and
invalid addresses. Statements are often wrapped in pcall, so one error does not end the
program before it reaches the rest.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from . import layout
from .corpus import Program

MAXINT = (1 << 63) - 1
MININT = -(1 << 63)
EDGE_INTS = (0, 1, -1, 2, 7, 255, 256, 4095, -4095, -4096, 65535, 1 << 31, (1 << 31) - 1,
             1 << 32, MAXINT, MININT, MININT + 1, 1 << 62)
SAFE_NRS = {  # x86_64 numbers of the calls sys.call may use on the world
    "read": 0, "write": 1, "close": 3, "fstat": 5, "poll": 7, "lseek": 8, "getpid": 39,
    "dup": 32, "nanosleep": 35, "getppid": 110, "gettid": 186, "sched_yield": 24,
    "uname": 63, "getuid": 102, "eventfd2": 290, "getrandom": 318,
}
DENIED_NRS = (56, 57, 58, 59, 60, 231, 15, 219, 172, 173, 154, 158, 322, 435, 453, 463,
              464)
BOGUS_NRS = (-1, 462, 465, 548, 1000, 1 << 31, 1 << 32, MAXINT, MININT)


def lua_int(v: int) -> str:
    """A Lua integer literal; MININT has none, so it is an expression."""
    if v == MININT:
        return "math.mininteger"
    return str(v) if v >= 0 else f"({v})"


class Gen:
    """Generator of one program; all choices come from self.r."""

    def __init__(self, rng: random.Random) -> None:
        self.r = rng
        self.n = 0
        self.ints: list[str] = []
        self.strs: list[str] = []
        self.tabs: list[str] = []
        self.fns: list[str] = []
        self.depth = 0

    # --- names and values --------------------------------------------------------------

    def fresh(self, prefix: str = "v") -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def pick(self, seq: list[str] | tuple, default: str = "0") -> str:
        return str(self.r.choice(seq)) if seq else default

    def small(self) -> str:
        return lua_int(self.r.choice((0, 1, 2, 3, 5, 8, 16, 31, 64, 100)))

    def int_lit(self) -> str:
        if self.chance(0.5):
            return self.small()
        if self.chance(0.5):
            return lua_int(self.r.choice(EDGE_INTS))
        return lua_int(self.r.randint(-(1 << 40), 1 << 40))

    def str_lit(self) -> str:
        choices = (
            '""', '"a"', '"hello"', '"%d %s"', '"\\0\\1\\255"', '"\\u{10FFFF}"',
            '"\\xff\\xfe"', "[[long\nstring]]", '"(%w+)=(%w+)"', '"%a+"', '"[%z\\1-\\31]"',
            '"%b()"', '"%f[%w]%w+"', '"x=1, y=22"', '"\\u{7FFFFFFF}"', '"abc"', '"10"',
            '"0x10"', '"1.5"', '"nan"', '" 12 "', '"%"', '"(("', '"[a-"',
        )
        return self.r.choice(choices)

    # --- expressions -------------------------------------------------------------------

    def int_expr(self, d: int = 0) -> str:
        r = self.r.random()
        if d > 3 or r < 0.3:
            return self.pick(self.ints, self.int_lit()) if self.chance(0.5) else self.int_lit()
        if r < 0.55:
            op = self.r.choice(("+", "-", "*", "//", "%", "&", "|", "~", "<<", ">>"))
            return f"({self.int_expr(d + 1)} {op} {self.int_expr(d + 1)})"
        if r < 0.65:
            return f"(-{self.int_expr(d + 1)})"
        if r < 0.7:
            return f"(~{self.int_expr(d + 1)})"
        if r < 0.78:
            return f"#{self.str_expr(d + 1)}"
        if r < 0.82 and self.tabs:
            return f"#{self.pick(self.tabs)}"
        if r < 0.9:
            e = lambda: self.int_expr(d + 1)  # noqa: E731
            t = lambda: self.str_expr(d + 1)  # noqa: E731
            return self.r.choice((
                lambda: f"math.max({e()}, {e()})",
                lambda: f"math.min({e()}, {e()})",
                lambda: f"math.abs({e()})",
                lambda: f"(math.tointeger({e()}) or 0)",
                lambda: f"(string.byte({t()}, {self.small()}) or 0)",
                lambda: f"(string.find({t()}, {t()}, 1, true) or 0)",
                lambda: f"(utf8.len({t()}) or -1)",
                lambda: f"select('#', {e()}, {t()})",
                lambda: f"(tonumber({t()}) or 7)",
                lambda: "math.random(1, 100)",
                lambda: f"(math.ult({e()}, {e()}) and 1 or 0)",
            ))()
        return self.sys_expr()

    def str_expr(self, d: int = 0) -> str:
        r = self.r.random()
        if d > 3 or r < 0.35:
            return self.pick(self.strs, self.str_lit()) if self.chance(0.5) else self.str_lit()
        e = lambda: self.int_expr(d + 1)  # noqa: E731
        t = lambda: self.str_expr(d + 1)  # noqa: E731
        return self.r.choice((
            lambda: f"({t()} .. {t()})",
            lambda: f"({t()} .. {e()})",
            lambda: f"string.rep({t()}, {self.small()})",
            lambda: f"string.format('%d:%s:%x:%5.2s:%q', {e()}, {t()}, {e()}, {t()}, {e()})",
            lambda: f"string.sub({t()}, {e()}, {e()})",
            lambda: f"string.upper({t()})",
            lambda: f"string.reverse({t()})",
            lambda: f"tostring({e()})",
            lambda: f"string.char({self.r.randint(0, 255)}, {self.r.randint(0, 255)})",
            lambda: f"utf8.char({self.r.choice((0, 65, 0x7FF, 0xFFFF, 0x10FFFF, 0x7FFFFFFF))})",
            lambda: f"string.pack('<i4 j s1', {e()} & 0x7fffffff, {e()}, 'ab')",
            lambda: f"(string.gsub({t()}, '%w', '%0%0'))",
            lambda: f"mem.read({layout.DATA + self.r.randint(0, 255)}, {self.r.randint(0, 64)})",
            lambda: f"table.concat({{{t()}, {e()}}}, ',')",
        ))()

    def tab_expr(self) -> str:
        return self.r.choice((
            lambda: "{}",
            lambda: f"{{{self.int_expr()}, {self.int_expr()}, {self.str_expr()}}}",
            lambda: f"{{a = {self.int_expr()}, [{self.str_expr()}] = {self.int_expr()}}}",
            lambda: f"table.pack({self.int_expr()}, {self.str_expr()})",
            lambda: f"setmetatable({{}}, {self.metatable()})",
            lambda: self.pick(self.tabs, "{}"),
        ))()

    def any_expr(self) -> str:
        return self.r.choice((self.int_expr, self.str_expr, self.tab_expr,
                              lambda: "nil", lambda: "true", lambda: self.pick(self.fns, "print"),
                              lambda: "coroutine.create(function() end)"))()

    def metatable(self) -> str:
        entries = []
        for name, body in (
            ("__index", "function(t, k) return k end"),
            ("__index", "{x = 1}"),
            ("__newindex", "function(t, k, v) rawset(t, k, v) end"),
            ("__call", "function(self, a) return a end"),
            ("__add", "function(a, b) return 1 end"),
            ("__concat", "function(a, b) return 'c' end"),
            ("__eq", "function(a, b) return true end"),
            ("__lt", "function(a, b) return false end"),
            ("__le", "function(a, b) error('le') end"),
            ("__len", "function() return 42 end"),
            ("__unm", "function() return -1 end"),
            ("__tostring", "function() return 'T' end"),
            ("__tostring", "function() return {} end"),
            ("__name", "'fuzzobj'"),
            ("__close", "function() end"),
            ("__mode", "'k'"),
            ("__metatable", "false"),
            ("__pairs", "function(t) return next, {1, 2}, nil end"),
            ("__gc", "function() end"),
            ("__idiv", "function() return 0 end"),
            ("__band", "function() return 0 end"),
        ):
            if self.chance(0.15):
                entries.append(f"{name} = {body}")
        return "{" + ", ".join(entries) + "}"

    # --- the world: system calls and memory --------------------------------------------

    def fd(self) -> str:
        if self.chance(0.85):
            return str(self.r.choice(layout.FDS))
        if self.chance(0.5):
            return "a"   # the first argument, often the state's own fd or a world fd
        return lua_int(self.r.choice(layout.BAD_FDS))

    def addr(self, size: int = 8) -> str:
        if self.chance(0.75):
            return str(layout.DATA + self.r.choice((0, 8, 256, 4096, 0x8000,
                                                    layout.DATA_SIZE - size)))
        if self.chance(0.3):
            return str(layout.RO)
        return lua_int(self.r.choice(layout.BAD_ADDRS))

    def length(self) -> str:
        return lua_int(self.r.choice((0, 1, 8, 16, 64, 4096, layout.DATA_SIZE,
                                      layout.DATA_SIZE + 1, 1 << 31, -1)))

    def timeout(self) -> str:
        """A timespec that never blocks for long: zero, 1 us, or a bad pointer."""
        return str(self.r.choice((layout.DATA + layout.ZTS_OFF, layout.DATA + layout.ZTS_OFF,
                                  layout.DATA + layout.TS_OFF, layout.HOLE,
                                  layout.NOACCESS)))

    def sigmask(self) -> str:
        """A temporary mask (ppoll, epoll_pwait): any of the sigsets, NULL or invalid."""
        return str(self.r.choice((
            layout.DATA + layout.SIGSET_EMPTY, layout.DATA + layout.SIGSET_USR,
            layout.DATA + layout.SIGSET_FULL, layout.DATA + layout.SIGSET_FULL, 0,
            layout.HOLE, layout.HOLE - 4, layout.NOACCESS, layout.KERNEL_ADDR)))

    def lasting_mask(self) -> str:
        """A mask for rt_sigprocmask(): never one that blocks SIGALRM, which ends calls
        blocked for good."""
        return str(self.r.choice((layout.DATA + layout.SIGSET_EMPTY,
                                  layout.DATA + layout.SIGSET_USR, 0, layout.HOLE)))

    def sigsetsize(self) -> str:
        return str(self.r.choice((8, 8, 8, 0, 4, 16, 128)))

    def sig6(self) -> str:
        """pselect6's { sigset pointer, size } argument."""
        if self.chance(0.8):
            return str(layout.DATA + layout.SIG6_OFF
                       + layout.SIG6_SIZE * self.r.randrange(4))
        return str(self.r.choice((0, layout.HOLE, layout.HOLE - 8)))

    def fdset(self) -> str:
        return str(self.r.choice((layout.DATA + layout.FDSET_OFF,
                                  layout.DATA + layout.FDSET_OFF, 0, layout.HOLE - 8)))

    def sys_expr(self) -> str:
        data = layout.DATA
        r = self.r
        calls: list[Callable[[], str]] = [
            lambda: "sys.getpid()", lambda: "sys.getppid()", lambda: "sys.gettid()",
            lambda: "sys.sched_yield()", lambda: "sys.getuid()",
            lambda: f"sys.read({self.fd()}, {self.addr()}, {self.length()})",
            lambda: f"sys.write({self.fd()}, {self.addr()}, {self.length()})",
            lambda: f"sys.close({r.randint(211, layout.FD_LAST)})",
            lambda: f"sys.close({self.fd()})",
            lambda: f"sys.dup({self.fd()})",
            lambda: f"sys.dup3({self.fd()}, {r.randint(211, layout.FD_LAST)}, "
                    f"{r.choice((0, 0o2000000, 1))})",
            lambda: f"sys.pipe2({self.addr()}, {r.choice((0, 0o4000, 0o2000000, -1))})",
            lambda: f"sys.socketpair(1, {r.choice((1, 2, 5, 99))}, 0, {self.addr()})",
            lambda: f"sys.lseek({self.fd()}, {self.int_lit()}, {r.choice((0, 1, 2, 3, 4, 9))})",
            lambda: f"sys.fcntl({self.fd()}, {r.choice((1, 2, 3, 4))}, "
                    f"{r.choice((0, 0o4000, 1))})",
            lambda: f"sys.ioctl({self.fd()}, 0x541B, {self.addr(4)})",
            lambda: f"sys.poll({data + layout.POLL_OFF}, {r.randint(0, 4)}, {r.choice((0, 1, 5))})",
            lambda: f"sys.nanosleep({data + layout.TS_OFF}, 0)",
            lambda: f"sys.nanosleep({self.addr()}, 0)",
            lambda: f"sys.uname({self.addr(390)})",
            lambda: f"sys.getrandom({self.addr()}, {self.length()}, {r.choice((0, 1, 2, 4))})",
            lambda: f"sys.clock_gettime({r.choice((0, 1, 7, -1, 1000))}, {self.addr(16)})",
            lambda: f"sys.sendto({r.choice(layout.FDS)}, {self.addr()}, {r.randint(0, 128)}, "
                    f"{r.choice((0, 0x40, 0x4000))}, 0, 0)",
            lambda: f"sys.recvfrom({r.choice(layout.FDS)}, {self.addr()}, {r.randint(0, 128)}, "
                    "0x40, 0, 0)",
            lambda: f"sys.readv({self.fd()}, {data + layout.IOV_OFF}, {r.choice((0, 1, 2, 1025))})",
            lambda: f"sys.writev({self.fd()}, {data + layout.IOV_OFF}, {r.choice((0, 1, 2))})",
            lambda: f"sys.eventfd2({r.randint(0, 5)}, {r.choice((0, 0o4000, 1))})",
            lambda: f"sys.epoll_ctl({layout.FD_EPOLL}, {r.choice((1, 2, 3))}, {self.fd()}, "
                    f"{self.addr(12)})",
            lambda: f"sys.epoll_wait({layout.FD_EPOLL}, {self.addr(12)}, {r.randint(0, 8)}, 0)",
            lambda: f"sys.memfd_create({data + layout.PATH_OFF}, {r.choice((0, 1, 2, 99))})",
            lambda: f"sys.ftruncate({self.fd()}, {r.choice((0, 100, 1 << 20, -1))})",
            lambda: f"sys.fstat({self.fd()}, {self.addr(144)})",
            lambda: f"sys.getcwd({self.addr()}, {self.length()})",
            lambda: f"sys.futex({self.addr(4)}, 1, 1, 0, 0, 0)",
            lambda: f"sys.kill(sys.getpid(), {r.choice((0, 10, 12))})",
            lambda: f"sys.madvise({data + 0x8000}, 4096, {r.choice((4, 8, 9, 100))})",
            lambda: f"sys.mprotect({data + 0x8000}, 4096, {r.choice((0, 1, 3, 7))})",
            lambda: f"sys.munmap({data + 0x8000}, {r.choice((4096, 8192))})",
            lambda: f"sys.mmap(0, {r.choice((4096, 1 << 20, 0, -1))}, 3, 0x22, -1, 0)",
            lambda: f"sys.timerfd_create({r.choice((0, 1, 7))}, 0)",
            lambda: f"sys.prctl(16, {self.addr(16)}, 0, 0, 0)",
            # temporary signal masks: never a timeout that blocks for long
            lambda: f"sys.ppoll({data + layout.POLL_OFF}, {r.randint(0, 3)}, {self.timeout()}, "
                    f"{self.sigmask()}, {self.sigsetsize()})",
            lambda: f"sys.pselect6({r.choice((0, 205, 211, 1025, -1))}, {self.fdset()}, "
                    f"{self.fdset()}, 0, {self.timeout()}, {self.sig6()})",
            lambda: f"sys.epoll_pwait({layout.FD_EPOLL}, {self.addr(12)}, {r.randint(0, 8)}, "
                    f"{r.choice((0, 0, 1))}, {self.sigmask()}, {self.sigsetsize()})",
            lambda: f"sys.epoll_pwait2({layout.FD_EPOLL}, {self.addr(12)}, {r.randint(0, 8)}, "
                    f"{self.timeout()}, {self.sigmask()}, {self.sigsetsize()})",
            lambda: f"sys.rt_sigprocmask({r.choice((0, 1, 2, 2, 5))}, {self.lasting_mask()}, "
                    f"{r.choice((0, data + layout.SIGSET_OLD_OFF, layout.HOLE))}, "
                    f"{self.sigsetsize()})",
            lambda: f"sys.openat(-100, {data + layout.DEVNULL_OFF}, {r.choice((0, 2, 0o2000000))})",
            lambda: f"sys.openat({self.fd()}, {self.addr()}, 0)",
            lambda: f"sys.call({r.choice(DENIED_NRS)})",
            lambda: f"sys.call({lua_int(r.choice(BOGUS_NRS))}, 1, 2)",
            lambda: f"sys.call({r.choice(list(SAFE_NRS.values()))}, {self.fd()}, "
                    f"{self.addr()}, {r.randint(0, 64)})",
            lambda: "sys.call(39, 1, 2, 3, 4, 5, 6)",
            lambda: "sys.call(39, 1, 2, 3, 4, 5, 6, 7)",
            lambda: "sys.nr.getpid",
            lambda: "(sys.nr.no_such_call or -1)",
            lambda: f"sys.read({self.fd()}, {self.addr()}, 'x')",
            lambda: "sys.no_such_call(1)",
        ]
        return r.choice(calls)()

    def mem_stmt(self) -> str:
        r = self.r
        width = r.choice((8, 16, 32, 64))
        return r.choice((
            lambda: f"mem.put{width}({self.addr(width // 8)}, {self.int_expr()})",
            lambda: f"local _ = mem.get{width}({self.addr(width // 8)})",
            lambda: f"mem.write({self.addr()}, {self.str_expr()})",
            lambda: f"mem.write({layout.HOLE - 4}, 'abcdefgh')",
            lambda: f"local _ = mem.read({self.addr()}, {self.length()})",
            lambda: f"local _ = mem.read({layout.DATA}, "
                    f"{r.choice((-1, 1 << 31, 0x7ffff000, 1 << 20))})",
            lambda: f"mem.write({layout.DATA}, string.rep('z', "
                    f"{r.choice((10, layout.DATA_SIZE + 1))}))",
            lambda: f"mem.put64({layout.DATA}, sys.getpid()); mem.put32({layout.DATA} + 8, 5)",
            lambda: "mem.get8()",
            lambda: "mem.put8('x', 1)",
        ))()

    # --- statements ----------------------------------------------------------------------

    def block(self, n: int) -> str:
        """n statements in a new scope: its locals are not used after it."""
        saved = [len(v) for v in (self.ints, self.strs, self.tabs, self.fns)]
        self.depth += 1
        try:
            return "\n".join(self.stmt() for _ in range(n))
        finally:
            self.depth -= 1
            for names, keep in zip((self.ints, self.strs, self.tabs, self.fns), saved,
                                   strict=True):
                del names[keep:]

    def stmt(self) -> str:
        r = self.r.random()
        deep = self.depth > 3
        if r < 0.12:
            name = self.fresh("i")
            self.ints.append(name)
            return f"local {name} = {self.int_expr()}"
        if r < 0.2:
            name = self.fresh("s")
            self.strs.append(name)
            return f"local {name} = {self.str_expr()}"
        if r < 0.25:
            name = self.fresh("t")
            self.tabs.append(name)
            return f"local {name} = {self.tab_expr()}"
        if r < 0.4:
            return f"local _ = {self.sys_expr()}"
        if r < 0.5:
            return self.mem_stmt()
        if r < 0.58 and not deep:
            return f"pcall(function()\n{self.block(self.r.randint(1, 4))}\nend)"
        if r < 0.62 and not deep:
            return (f"if {self.int_expr()} > {self.int_expr()} then\n{self.block(2)}\n"
                    f"else\n{self.block(1)}\nend")
        if r < 0.66 and not deep:
            return f"for _ = 1, {self.r.choice((1, 3, 10, 100))} do\n{self.block(2)}\nend"
        if r < 0.69 and not deep:
            return (f"do local co = coroutine.wrap(function(x)\n{self.block(2)}\n"
                    "coroutine.yield(1) return 2 end)\n pcall(co, 1) pcall(co) pcall(co) end")
        if r < 0.93:
            return self.special()
        if r < 0.96:
            return f"error({self.any_expr()})"
        return f"if {self.int_expr()} == 3 then return {self.int_expr()} end"

    def special(self) -> str:
        """Statements that stress one part of the runtime each."""
        r = self.r
        n = r.choice((3, 10, 50, 100, 200, 1000, 100000))
        big = r.choice((10, 16, 20, 24, 30, 40, 62))
        templates: list[Callable[[], str]] = [
            # C recursion through every kind of C boundary
            lambda: (f"local function r(k) if k > 0 then return pcall(r, k - 1) end "
                     f"return true end\nr({n})"),
            lambda: (f"local function r(k) if k == 0 then return 0 end return 1 + r(k - 1) end"
                     f"\nr({n})"),
            lambda: (f"local t = {{}}\nfor _ = 1, {n} do local p = t "
                     "t = setmetatable({}, {__index = function(_, k) return p[k] end}) end\n"
                     "local _ = t.x"),
            lambda: (f"local function g(s, k) if k == 0 then return s end return "
                     "(string.gsub(s, '.', function(c) return g(c, k - 1) end)) end\n"
                     f"g('ab', {n})"),
            lambda: (f"local function c(k) if k == 0 then return coroutine.yield(1) end "
                     "local co = coroutine.create(c) return coroutine.resume(co, k - 1) end\n"
                     f"c({n})"),
            lambda: (f"local t = {{}}\nfor i = 1, {min(n, 2000)} do t[i] = (i * 7919) % 101 end\n"
                     "table.sort(t, function(a, b) return a < b end)"),
            lambda: (f"local t = {{}}\nfor i = 1, {min(n, 500)} do t[i] = i end\n"
                     "table.sort(t, function(a, b) return true end)"),
            lambda: ("table.sort({3, 2, 1}, function(a, b) "
                     "coroutine.yield() return a < b end)"),
            lambda: ("local t = setmetatable({}, {__tostring = function(s) "
                     "return tostring(s) end})\nlocal _ = tostring(t)"),
            lambda: ("local mt = {} mt.__call = setmetatable({}, mt)\n"
                     "local _ = setmetatable({}, mt)()"),
            lambda: (f"local e = {{}} for _ = 1, {n} do e = {{e}} end\n"
                     "local _ = tostring(e)"),
            # huge strings and tables
            lambda: f"local _ = string.rep('x', 1 << {big})",
            lambda: f"local _ = string.rep('ab', 1 << {big}, ',')",
            lambda: "local s = 'x' for _ = 1, 40 do s = s .. s end",
            lambda: f"local t = {{}} for i = 1, {n} do t[i] = i end local _ = table.concat(t)",
            lambda: f"local t = {{}} for i = 1, {n} do t[i .. 'k'] = {{i}} end",
            lambda: f"local _ = table.unpack({{}}, 1, {n})",
            lambda: f"local _ = table.concat({{}}, '', 1, {lua_int(r.choice(EDGE_INTS))})",
            lambda: (f"local t = {{1, 2, 3}} table.move(t, 1, {lua_int(r.choice(EDGE_INTS))}, "
                     f"{lua_int(r.choice(EDGE_INTS))})"),
            lambda: f"local t = {{}} table.insert(t, {lua_int(r.choice(EDGE_INTS))}, 1)",
            lambda: f"local _ = select({lua_int(r.choice(EDGE_INTS))}, 1, 2, 3)",
            lambda: f"local _ = {{[{lua_int(r.choice(EDGE_INTS))}] = 1}}",
            # patterns and formats
            lambda: (f"local _ = string.find(string.rep('a', {min(n, 5000)}), "
                     f"string.rep('a*', {r.choice((2, 8, 20))}) .. 'b')"),
            lambda: f"local _ = string.match(string.rep('(', {n}), string.rep('%(', {n}))",
            lambda: f"local _ = string.find('x', string.rep('(', {r.choice((10, 31, 32, 33))}))",
            lambda: "for k, v in string.gmatch('a=1, b=2', '(%w+)=(%w+)') do end",
            lambda: (f"local _ = string.format({r.choice(FORMATS)}, "
                     f"{lua_int(r.choice(EDGE_INTS))})"),
            lambda: (f"local _ = string.pack({r.choice(PACKS)}, "
                     f"{lua_int(r.choice(EDGE_INTS))})"),
            lambda: (f"local _ = string.unpack({r.choice(PACKS)}, "
                     f"string.rep('\\255', {r.choice((0, 1, 8, 16, 32))}))"),
            lambda: (f"local _ = utf8.codepoint({self.str_expr()}, 1, "
                     f"{lua_int(r.choice(EDGE_INTS))}, {r.choice(('true', 'false'))})"),
            lambda: f"local _ = utf8.offset('abc', {lua_int(r.choice(EDGE_INTS))})",
            lambda: "for p, c in utf8.codes('a\\xffb') do end",
            # arithmetic edges
            lambda: (f"local _ = {lua_int(r.choice(EDGE_INTS))} "
                     f"{r.choice(('//', '%', '<<', '>>', '*'))} {lua_int(r.choice(EDGE_INTS))}"),
            lambda: "local _ = math.mininteger // -1, math.mininteger % -1",
            lambda: f"local _ = math.random({lua_int(r.choice(EDGE_INTS))})",
            lambda: "local _ = 1 / 2",
            lambda: "local _ = 2 ^ 3",
            lambda: "local _ = '1.5' + 1",
            lambda: "local _ = '10' + 1",
            # coroutines
            lambda: "local co = coroutine.running() pcall(coroutine.close, co)",
            lambda: "coroutine.yield(1)",
            lambda: ("local co = coroutine.create(function() local x <close> = "
                     "setmetatable({}, {__close = function() error('c') end}) "
                     "coroutine.yield() end)\ncoroutine.resume(co) coroutine.close(co)"),
            lambda: ("G_CO = G_CO or coroutine.create(function() while true do "
                     "coroutine.yield(sys.getpid()) end end)\ncoroutine.resume(G_CO)"),
            lambda: ("local co = coroutine.wrap(function() while true do "
                     "pcall(function() while true do end end) end end)\nco()"),
            lambda: "xpcall(function() error('x') end, function(m) while true do end end)",
            lambda: ("xpcall(function() error('x') end, function(m) "
                     "error(m) end)"),
            lambda: (f"local function h(m) return h(m) end "
                     f"xpcall(function() error({n}) end, h)"),
            # metatables, environment, GC
            lambda: f"local t = setmetatable({{}}, {self.metatable()}) local _ = t[1], #t",
            lambda: "setmetatable({}, {__gc = function() end})",
            lambda: "getmetatable('').__index = function(s, k) return k end",
            lambda: "string.rep = nil",
            lambda: "sys = nil",
            lambda: "_G.mem = {}",
            lambda: "local _ENV = {} x = 1",
            lambda: f"collectgarbage({r.choice(GC_OPTS)})",
            lambda: ("local w = setmetatable({}, {__mode = 'v'}) "
                     "for i = 1, 100 do w[i] = {} end collectgarbage()"),
            lambda: ("do local x <close> = setmetatable({}, {__close = function() "
                     "while true do end end}) end"),
            lambda: "local x <close> = 42",
            lambda: "local x <const> = 1",
            lambda: "print('fuzz', 1, {}, nil)",
            lambda: "local _ = load, loadstring, dofile, require, io, os, debug, package",
            lambda: "local _ = load('return 1')",
            lambda: "error(setmetatable({}, {__tostring = function() return 'obj' end}))",
            lambda: f"error(string.rep('e', {r.choice((10, 300, 5000, 100000))}))",
            lambda: "error()",
            lambda: "local _ = next({}, 'nokey')",
            lambda: "rawset('s', 1, 2)",
            lambda: "goto skip; local _ = 1 ::skip::",
            lambda: ("local t = {} for i = 1, 10 do t[#t + 1] = function() return i end end "
                     "for i = 1, #t do t[i]() end"),
            # signals and blocking
            lambda: f"sys.read({layout.FD_PIPE_R}, {layout.DATA}, 100)",
            lambda: f"sys.read({layout.FD_STREAM0}, {layout.DATA}, 10)",
            lambda: "sys.kill(sys.getpid(), 10) while true do end",
            lambda: "while true do end",
            lambda: "while true do sys.getppid() end",
            lambda: f"for _ = 1, 1000 do sys.write({layout.FD_PIPE_W}, {layout.DATA}, 4096) end",
            # a signal pending across temporary masks: later nested calls see -EINTR
            lambda: (f"sys.rt_sigprocmask(0, {layout.DATA + layout.SIGSET_USR}, 0, 8) "
                     f"sys.kill(sys.getpid(), {r.choice((10, 12))})\n"
                     f"local _ = sys.ppoll({layout.DATA + layout.POLL_OFF}, 1, "
                     f"{layout.DATA + layout.ZTS_OFF}, {layout.DATA + layout.SIGSET_EMPTY}, 8)\n"
                     f"local _ = sys.read({layout.FD_PIPE_R}, {layout.DATA}, 1), "
                     "sys.getppid()"),
            lambda: (f"for _ = 1, {r.choice((2, 10, 30))} do "
                     f"sys.epoll_pwait({layout.FD_EPOLL}, {layout.DATA}, 4, 0, "
                     f"{layout.DATA + layout.SIGSET_FULL}, 8) "
                     f"sys.pselect6(211, {layout.DATA + layout.FDSET_OFF}, 0, 0, "
                     f"{layout.DATA + layout.ZTS_OFF}, "
                     f"{layout.DATA + layout.SIG6_OFF + layout.SIG6_SIZE}) end"),
            # open/close loops: the last close releases the file at once (task work);
            # short, as a fuzz loop may itself run in a loop (the guest test does 1000)
            lambda: (f"for _ = 1, {r.choice((5, 20, 100))} do local f = sys.openat(-100, "
                     f"{layout.DATA + layout.DEVNULL_OFF}, {r.choice((0, 2, 0o2000000))}) "
                     "if f >= 0 then sys.close(f) end end"),
            lambda: (f"for _ = 1, {r.choice((5, 20, 50))} do "
                     f"if sys.pipe2({layout.DATA + layout.PIPEFD_OFF}, "
                     f"{r.choice((0, 0o4000, 0o2000000))}) == 0 then "
                     f"local rd, wr = mem.get32({layout.DATA + layout.PIPEFD_OFF}), "
                     f"mem.get32({layout.DATA + layout.PIPEFD_OFF + 4}) "
                     f"{r.choice(PIPE_BODIES)} "
                     "end end"),
            lambda: (f"for _ = 1, {r.choice((5, 20))} do local f = sys.openat(-100, "
                     f"{layout.DATA + layout.DEVNULL_OFF}, 0) if f >= 0 then "
                     f"sys.dup3(f, {r.randint(211, layout.FD_LAST)}, 0) sys.close(f) end end"),
        ]
        return r.choice(templates)()


PIPE_BODIES = (
    "sys.close(wr) sys.close(rd)", "sys.close(rd) sys.close(wr)",
    # the writer's last close: the reader gets the data, then EOF
    f"sys.write(wr, {layout.DATA}, 8) sys.close(wr) sys.read(rd, {layout.DATA + 64}, 16) "
    f"sys.read(rd, {layout.DATA + 64}, 16) sys.close(rd)",
    # the reader's last close: the writer gets EPIPE (SIGPIPE is ignored)
    f"sys.close(rd) sys.write(wr, {layout.DATA}, 8) sys.close(wr)",
)
FORMATS = ("'%d'", "'%5d'", "'%-99d'", "'%099d'", "'%x'", "'%X'", "'%o'", "'%c'", "'%i'",
           "'%q'", "'%s'", "'%10.3s'", "'%a'", "'%f'", "'%g'", "'%e'", "'%y'", "'%'", "'%100d'",
           "'%.99d'", "'%u'", "'%%'")
PACKS = ("'i0'", "'i17'", "'i16'", "'<I16'", "'>j'", "'!17 i4'", "'s1'", "'z'", "'Xi8'",
         "'b'", "'B'", "'h'", "'H'", "'l'", "'T'", "'i3'", "'c5'", "'d'", "'f'", "'n'", "'s'",
         "'<i8 >i8 =i8'", "'i' .. 1000", "'xX'", "'!'")
GC_OPTS = ("'collect'", "'step'", "'step', 100", "'count'", "'stop'", "'restart'",
           "'incremental'", "'generational'", "'isrunning'", "'setpause', 100", "'bogus'")


def entry_program(g: Gen) -> str:
    """The prelude, then `return function(...)` with a random body."""
    prelude = []
    for _ in range(g.r.randint(0, 3)):
        prelude.append(g.stmt())
    if g.chance(0.3):
        name = g.fresh("f")
        prelude.append(f"local function {name}(x, y)\n{g.block(2)}\nreturn x\nend")
        g.fns.append(name)
    # the top level persists between calls through these
    prelude.append("local calls = 0")
    g.ints += ["a", "b"]
    body = g.block(g.r.randint(1, 10))
    ret = g.r.choice((
        "calls", "nil", "", g.int_expr(), "sys.getpid()", "-5", "-4095", "-4096", "-512",
        "'str'", "{}", "true", "1, 2, 3", f"sys.read({layout.FD_NULL}, {layout.DATA}, 1)",
        "math.maxinteger", "math.mininteger",
    ))
    return ("\n".join(prelude)
            + "\nreturn function(a, b, c, d, e, f)\ncalls = calls + 1\n"
            + body + f"\nreturn {ret}\nend\n")


def deep_syntax(g: Gen) -> str:
    """Programs that stress the parser: deep nesting, many locals or upvalues."""
    r = g.r
    n = r.choice((10, 50, 150, 190, 200, 250, 1000, 5000))
    kind = r.randrange(7)
    if kind == 0:
        return f"return function() return {'(' * n}1{')' * n} end"
    if kind == 1:
        return f"return function() return {'{' * n}{'}' * n} end"
    if kind == 2:
        return "return " + "function() return " * n + "1" + " end" * n
    if kind == 3:
        return ("return function()\n" + "\n".join(f"local l{i} = {i}" for i in range(n))
                + "\nreturn l0 end")
    if kind == 4:
        return "return function() return 1 " + "+ 1 " * n + "end"
    if kind == 5:
        return "return function() " + "if true then " * n + "end " * n + "end"
    return ("local " + ", ".join(f"u{i}" for i in range(min(n, 200))) + "\nreturn function() "
            + "return " + " + ".join(f"(u{i} or 0)" for i in range(min(n, 300))) + " end")


def mutate(g: Gen, text: str) -> str:
    """Near-valid: a small random damage to a valid program."""
    r = g.r
    kind = r.randrange(8)
    if not text:
        return text
    i = r.randrange(len(text))
    j = min(len(text), i + r.randint(1, 20))
    if kind == 0:
        return text[:i] + text[j:]
    if kind == 1:
        return text[:i] + text[i:j] + text[i:]
    if kind == 2:
        return text[:i] + r.choice(("end", "(", ")", "{", "]]", "--[[", "\"", "..", "local",
                                    "return", "1.5", "\0", "\xff", "goto x")) + text[i:]
    if kind == 3:
        return text[:i]
    if kind == 4:
        return "\x1bLua" + text
    if kind == 5:
        return text.replace("return function", "return 1 --", 1)
    if kind == 6:
        return "error('top level')\n" + text
    return "#!/shebang\n" + text


def make_params(g: Gen, script: bytes) -> tuple[dict[str, int], list[int | str]]:
    r = g.r
    params: dict[str, int] = {}
    if g.chance(0.05):
        params["reg_flags"] = r.choice((2, 0x80000, 1 << 31, 0xFFFFFFFF))
    elif g.chance(0.2):
        params["reg_flags"] = 1
    if g.chance(0.06):
        params["reg_len"] = r.choice((0, max(len(script) - r.randint(1, 10), 1),
                                      len(script) + r.randint(1, 4096), 1 << 20, 1 << 40))
    if g.chance(0.02):
        params["reg_ptr"] = r.choice((1, 2))
    params["mem_limit"] = r.choice((65536, 262144, 1 << 20, 1 << 20, 4 << 20))
    params["insn_limit"] = r.choice((1000, 20000, 100000, 100000, 300000))
    if g.chance(0.1):
        params["nth_reg"] = r.randint(1, 300)
    if g.chance(0.1):
        params["nth_call"] = r.randint(1, 60)
    params["calls"] = r.choice((1, 1, 2, 3))
    if g.chance(0.04):
        params["nargs"] = r.choice((17, 1000, 0xFFFFFFFF))
    if g.chance(0.03):
        params["call_flags"] = r.choice((1, 0x80000000))
    if g.chance(0.02):
        params["args_ptr"] = r.choice((1, 2))
    # Mostly a timer that only ends calls blocked for good; sometimes a signal mid-script.
    params["alarm_ms"] = r.choice((1, 20)) if g.chance(0.1) else r.choice((200, 500))
    pool: list[int | str] = [layout.ARG_SELF, *layout.FDS, layout.DATA, layout.HOLE, 0,
                             -1, MAXINT, MININT]
    args = [r.choice(pool) for _ in range(r.randint(0, 6))]
    return params, args


# seccomp actions (include/uapi/linux/seccomp.h) for the filter of a seccomp program.
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_KILL_THREAD = 0x00000000
SECCOMP_RET_TRAP = 0x00030000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_USER_NOTIF = 0x7FC00000
SECCOMP_RET_TRACE = 0x7FF00000
SECCOMP_RET_LOG = 0x7FFC0000
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_ACTIONS = {
    "ALLOW": SECCOMP_RET_ALLOW, "LOG": SECCOMP_RET_LOG,
    "ERRNO(0)": SECCOMP_RET_ERRNO, "ERRNO(EXFULL)": SECCOMP_RET_ERRNO | 54,
    "ERRNO(EL3HLT)": SECCOMP_RET_ERRNO | 46, "TRAP": SECCOMP_RET_TRAP,
    "TRACE": SECCOMP_RET_TRACE | 7, "USER_NOTIF": SECCOMP_RET_USER_NOTIF,
    "KILL_THREAD": SECCOMP_RET_KILL_THREAD, "KILL_PROCESS": SECCOMP_RET_KILL_PROCESS,
}
SECCOMP_KILLS = (SECCOMP_RET_KILL_THREAD, SECCOMP_RET_KILL_PROCESS)
SECCOMP_FRACTION = 0.07
"""Of the programs, those the executor runs in a child under a seccomp filter."""
SECCOMP_NRS = {  # x86_64: calls the programs make that the executor's child never makes
    "read": 0, "write": 1, "close": 3, "fstat": 5, "poll": 7, "lseek": 8, "mmap": 9,
    "mprotect": 10, "munmap": 11, "rt_sigprocmask": 14, "ioctl": 16, "readv": 19,
    "writev": 20, "sched_yield": 24, "madvise": 28, "dup": 32, "nanosleep": 35, "getpid": 39,
    "sendto": 44, "recvfrom": 45, "socketpair": 53, "kill": 62, "uname": 63, "fcntl": 72,
    "ftruncate": 77, "getcwd": 79, "getuid": 102, "getppid": 110, "prctl": 157,
    "gettid": 186, "futex": 202, "clock_gettime": 228, "epoll_wait": 232, "epoll_ctl": 233,
    "openat": 257, "pselect6": 270, "ppoll": 271, "epoll_pwait": 281,
    "timerfd_create": 283, "eventfd2": 290, "dup3": 292, "pipe2": 293, "getrandom": 318,
    "memfd_create": 319, "epoll_pwait2": 441,
}


def seccomp_params(seed: int | str, index: int, script: bytes) -> dict[str, int]:
    """The seccomp filter program `index` of `seed` runs under, if any: a function of the
    pair alone (its own random stream; the script is itself a function of the pair), so
    that it is reproducible and, through the parameters line, kept with a failing
    program. The call filtered is one the script names, when it names any."""
    r = random.Random(f"{seed}:{index}:seccomp")
    used = sorted(n for n in SECCOMP_NRS if f"sys.{n}(".encode() in script)
    # Mostly programs that make a call to filter: a filter on nothing tests little.
    if r.random() >= (SECCOMP_FRACTION * 1.3 if used else SECCOMP_FRACTION / 3):
        return {}
    name = r.choice(used) if used and r.random() < 0.9 else r.choice(sorted(SECCOMP_NRS))
    return {"seccomp_nr": SECCOMP_NRS[name],
            "seccomp_act": SECCOMP_ACTIONS[r.choice(sorted(SECCOMP_ACTIONS))]}


def program(seed: int | str, index: int) -> Program:
    """Program `index` of `seed`: the same pair gives the same program."""
    g = Gen(random.Random(f"{seed}:{index}"))
    kind = g.r.random()
    text = deep_syntax(g) if kind < 0.06 else entry_program(g)
    if kind > 0.85:
        text = mutate(g, text)
    script = text.encode("utf-8", errors="surrogateescape")
    params, args = make_params(g, script)
    params.update(seccomp_params(seed, index, script))
    return Program(index, script, params, args)


def programs(seed: int | str, count: int, start: int = 0) -> list[Program]:
    return [program(seed, i) for i in range(start, start + count)]
