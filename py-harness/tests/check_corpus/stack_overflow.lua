local function depth(n) return depth(n + 1) + 1 end
depth(1)
return function() end
