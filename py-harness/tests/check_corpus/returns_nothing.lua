local function entry(a) return a end
