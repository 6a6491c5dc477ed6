"""The checkpatch gate: real findings fail, only the documented exemptions pass.

The posted patches themselves are checked by `b4 prep --check` (test_b4.py), which runs
this gate on each of them."""

import pytest

from lua_syscall_harness import checkpatch
from lua_syscall_harness.checkpatch import Finding

BAD_PATCH = """From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: A U Thor <author@example.org>
Date: Thu, 26 Nov 2026 12:00:00 +0000
Subject: [PATCH] lua: add a badly styled helper

The helper is here to be rejected.

Signed-off-by: A U Thor <author@example.org>
---
 kernel/lua/lua_bad.c | 6 ++++++
 1 file changed, 6 insertions(+)
 create mode 100644 kernel/lua/lua_bad.c

diff --git a/kernel/lua/lua_bad.c b/kernel/lua/lua_bad.c
new file mode 100644
index 0000000..1111111
--- /dev/null
+++ b/kernel/lua/lua_bad.c
@@ -0,0 +1,6 @@
+// SPDX-License-Identifier: GPL-2.0
+int lua_bad(int x)
+{
+	if(x) return -ENOSYS;@TRAILING_SPACE@
+	return 0;
+}
--
2.39.5
""".replace("@TRAILING_SPACE@", " ")


def test_a_badly_styled_patch_has_unexplained_findings():
    found = checkpatch.findings(BAD_PATCH)
    left = checkpatch.unexplained(found)
    types = {f.type for f in left}
    assert {"SPACING", "TRAILING_WHITESPACE"} <= types, left
    # ENOSYS is exempt only where it means an unknown system call number.
    assert "ENOSYS" in types


@pytest.mark.parametrize(("finding", "exempt"), [
    (Finding("CHECK", "CAMELCASE", "kernel/lua/lua_syscall.c", 1,
             "Avoid CamelCase: <lua_Integer>"), True),
    (Finding("CHECK", "CAMELCASE", "kernel/lua/lua_syscall.c", 1,
             "Avoid CamelCase: <myHelper>"), False),
    (Finding("CHECK", "CAMELCASE", "kernel/seccomp.c", 1,
             "Avoid CamelCase: <lua_Integer>"), False),
    (Finding("WARNING", "ENOSYS", "kernel/lua/lua_syslib.c", 1, "ENOSYS means"), True),
    (Finding("WARNING", "ENOSYS", "kernel/lua/lua_syscall.c", 1, "ENOSYS means"), False),
    (Finding("WARNING", "AVOID_BUG", "kernel/lua/lua_runtime.c", 1, "Do not crash"), False),
    (Finding("WARNING", "FILE_PATH_CHANGES", "", 1, "does MAINTAINERS need"), True),
])
def test_exemptions_are_narrow(finding, exempt):
    assert (checkpatch.exemption_for(finding) is not None) == exempt
