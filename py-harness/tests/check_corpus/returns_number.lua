-- the chunk must return the entry, a function
local function entry() return 0 end
return 42
