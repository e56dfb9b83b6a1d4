-- Sliding window log rate limiter.
--
-- KEYS[1] sorted set of request timestamps
-- ARGV[1] now (milliseconds)
-- ARGV[2] window (milliseconds)
-- ARGV[3] limit (requests per window)
-- ARGV[4] unique request id
--
-- Returns {1, remaining} when allowed, {0, retry after ms} when limited.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local member = ARGV[4]

redis.call("ZREMRANGEBYSCORE", key, "-inf", now - window)
local count = redis.call("ZCARD", key)

if count < limit then
  redis.call("ZADD", key, now, member)
  redis.call("PEXPIRE", key, window)
  return { 1, limit - count - 1 }
end

local oldest = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
local retryAfter = window
if oldest[2] then
  retryAfter = tonumber(oldest[2]) + window - now
end
return { 0, retryAfter }
