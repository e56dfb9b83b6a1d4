-- @key stream
local log = KEYS[1] .. ':log'
return redis.call('XLEN', log)
