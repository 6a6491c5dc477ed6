-- the top level runs out of its instruction budget
local i = 0
while true do i = i + 1 end
