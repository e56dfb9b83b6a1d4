-- Remembers which ids were seen, with a bitset per day.
--
-- KEYS[1] bitset for the day
-- ARGV[1] id
-- ARGV[2] number of bits (a power of two)
--
-- Returns 1 the first time an id is seen, 0 afterwards.
local size = tonumber(ARGV[2])
local digest = redis.sha1hex(ARGV[1])
local offset = bit.band(tonumber(string.sub(digest, 1, 8), 16), size - 1)

local previous = redis.call("SETBIT", KEYS[1], offset, 1)
if previous == 0 then
  redis.call("EXPIRE", KEYS[1], 2 * 24 * 3600)
  return 1
end
return 0
