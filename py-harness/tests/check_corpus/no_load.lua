-- load, dofile and friends are not in the kernel's base library
local f = load("return 1")
return function() return f() end
