"""Harness for the lua_syscall Linux patch series: tree, build, boot, test, export."""
