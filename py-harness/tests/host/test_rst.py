"""The userspace-api document is valid reStructuredText.

Plain docutils, as strict as it gets: a malformed table or title fails here as it would warn
in the kernel's Sphinx build (`make htmldocs`), which this machine does not run.
"""

import docutils.core
import docutils.utils

from lua_syscall_harness.layout import REPO_ROOT

RST = REPO_ROOT / "Documentation" / "userspace-api" / "lua_syscall.rst"


def test_userspace_api_rst_parses_without_warnings():
    try:
        docutils.core.publish_doctree(
            RST.read_text(), source_path=str(RST),
            settings_overrides={"halt_level": docutils.utils.Reporter.WARNING_LEVEL,
                                "report_level": docutils.utils.Reporter.WARNING_LEVEL})
    except docutils.utils.SystemMessage as e:
        raise AssertionError(f"{RST.name}: {e}") from None
