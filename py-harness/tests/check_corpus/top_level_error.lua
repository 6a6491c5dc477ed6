-- name: cfg.loader
local limits = { fds = 16 }
if limits.files == nil then
  error("limits.files is not set")
end
return function() return limits.fds end
