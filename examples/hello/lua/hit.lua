-- Counts a hit; the counter expires after a quiet period.
-- @key counter   the hit counter
-- @arg seconds   how long the counter lives after the last hit
-- @return the count, this hit included
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return n
