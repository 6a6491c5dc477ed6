-- sys and sys.const reached through locals and upvalues
local s = sys
local k = s.const
local function helper(fd)
  return s.wirte(fd, 0, 0) + k.EBADFD + k.EBADF
end
return function(fd)
  local c = k
  if fd < 0 then return helper(fd) end
  return s.read(fd, 0, 0) + c.SEEK_NOWHERE
end
