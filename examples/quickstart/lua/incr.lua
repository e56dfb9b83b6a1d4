-- Adds an amount to a counter.
-- @key counter  integer counter
-- @arg amount   integer to add
-- @return the new value
local counter = KEYS[1]
return redis.call('INCRBY', counter, ARGV[1])
