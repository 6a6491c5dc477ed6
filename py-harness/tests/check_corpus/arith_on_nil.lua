local cfg = {}
local total = cfg.count + 1
return function() return total end
