"""Fuzzing and stress of register_lua_syscall() and lua_syscall() (`lua-syscall fuzz`)."""
