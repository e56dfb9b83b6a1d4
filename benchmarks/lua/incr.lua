-- Adds an amount to a counter: the smallest useful script, so that a
-- benchmark of it measures the client and the round trip, not Lua.
-- @key counter   the counter
-- @arg amount    the integer to add
-- @return the counter after the addition
return redis.call('INCRBY', KEYS[1], ARGV[1])
