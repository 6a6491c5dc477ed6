-- the kernel's Lua has integers only: a float literal does not compile
local ratio = 1.5
return function() return ratio end
