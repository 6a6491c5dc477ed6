import subprocess
import sys

from lua_syscall_harness.layout import HARNESS_DIR


def test_python_is_ruff_clean():
    res = subprocess.run([sys.executable, "-m", "ruff", "check", str(HARNESS_DIR)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
