-- Stores a binary value and returns the one it replaced.
-- @key blob  the value
-- @arg data []byte  the new value, any bytes
-- @return []byte  the old value, empty when there was none
local old = redis.call('GET', KEYS[1]) or ''
redis.call('SET', KEYS[1], ARGV[1])
return old
