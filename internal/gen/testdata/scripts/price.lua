-- Scales a stored price by a factor.
-- @key price  decimal price
-- @arg factor float64  the multiplier
-- @return float64  the new price
return redis.call('INCRBYFLOAT', KEYS[1], redis.call('GET', KEYS[1]) * (tonumber(ARGV[1]) - 1))
