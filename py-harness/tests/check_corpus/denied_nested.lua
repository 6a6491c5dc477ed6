-- a call the kernel denies a script, made at the top level
local r = sys.fork()
error("fork returned " .. r)
