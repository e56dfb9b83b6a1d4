-- @key counter
total = redis.call('INCR', KEYS[1])
return total
