local t = {}
error(setmetatable(t, { __tostring = function() return "custom" end }))
