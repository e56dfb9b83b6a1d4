-- Adds to a counter and returns the new value. The soak runs it in
-- pipelines (where a duplicated or reordered command shows up as a reply
-- out of sequence) and as the probe that times recovery after a fault.
-- @key counter   the counter; a missing counter counts as 0
-- @arg by        the increment, an integer
-- @return the counter after INCRBY
return redis.call('INCRBY', KEYS[1], ARGV[1])
