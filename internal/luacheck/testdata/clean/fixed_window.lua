-- Fixed window counter: allows ARGV[1] calls per ARGV[2] seconds.
--
-- KEYS[1] counter key
-- ARGV[1] limit
-- ARGV[2] window (seconds)
--
-- Returns {allowed (1 or 0), calls in this window, seconds to reset}.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])

local calls = redis.call("INCR", KEYS[1])
if calls == 1 then
  redis.call("EXPIRE", KEYS[1], window)
end
local ttl = redis.call("TTL", KEYS[1])
if calls > limit then
  return { 0, calls, ttl }
end
return { 1, calls, ttl }
