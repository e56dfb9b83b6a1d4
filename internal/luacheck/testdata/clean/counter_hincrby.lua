-- Increments a counter field and sets the hash's expiry on first use.
--
-- KEYS[1] counters hash
-- ARGV[1] field
-- ARGV[2] increment
-- ARGV[3] time to live (seconds)
--
-- Returns the new value of the field.
local value = redis.call("HINCRBY", KEYS[1], ARGV[1], ARGV[2])
if redis.call("TTL", KEYS[1]) < 0 then
  redis.call("EXPIRE", KEYS[1], ARGV[3])
end
return value
