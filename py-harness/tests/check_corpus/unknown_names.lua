-- name: warn-only
-- accepted: the unknown names are on paths the top level does not run
local O_RDONLY = sys.const.O_RDONLY
return function(path, flags)
  if flags == 1 then
    return sys.opne(path, O_RDONLY)
  elseif flags == 2 then
    return sys.openat(sys.const.AT_FDCWD, path, sys.const.O_CRAET)
  end
  return sys.close(path)
end
