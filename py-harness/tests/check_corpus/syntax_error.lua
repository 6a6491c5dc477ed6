-- a missing parameter list: a compile error with its line
local n = 0
return function(a, b
  return a + b
end
