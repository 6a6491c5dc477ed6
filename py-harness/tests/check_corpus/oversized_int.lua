-- one above math.maxinteger: standard Lua would make it a float
local limit = 9223372036854775808
return function() return limit end
