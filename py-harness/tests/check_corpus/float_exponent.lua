local ns = 1
local big = 1e9
return function() return ns * big end
