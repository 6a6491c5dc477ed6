import subprocess
import sys

from lua_syscall_harness.layout import HARNESS_DIR, REPO_ROOT


def test_python_is_ruff_clean():
    # the harness and the applications' package (python/, its own ruff section, same rules)
    res = subprocess.run([sys.executable, "-m", "ruff", "check", str(HARNESS_DIR),
                          str(REPO_ROOT / "python")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
