-- Adds an amount to a counter.
-- @key counter  integer counter
-- @arg amount int64  integer to add
-- @return int64  the new value
local counter = KEYS[1]
return redis.call('INCRBY', counter, ARGV[1])
