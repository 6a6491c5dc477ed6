local s = string.format("%5.2f", 3)
return function() return #s end
