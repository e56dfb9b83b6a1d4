-- Token bucket rate limiter.
--
-- KEYS[1] bucket hash: tokens, ts
-- ARGV[1] capacity (tokens)
-- ARGV[2] refill rate (tokens per second)
-- ARGV[3] now (milliseconds)
-- ARGV[4] tokens requested, default 1
--
-- Returns {allowed (1 or 0), tokens left, milliseconds until one token}.
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local requested = tonumber(ARGV[4]) or 1

if not capacity or not rate or rate <= 0 or not now then
  return redis.error_reply("ERR capacity, rate and now must be numbers")
end

local bucket = redis.call("HMGET", key, "tokens", "ts")
local tokens = tonumber(bucket[1]) or capacity
local ts = tonumber(bucket[2]) or now

local elapsed = math.max(0, now - ts)
tokens = math.min(capacity, tokens + elapsed * rate / 1000)

local allowed = 0
if tokens >= requested then
  tokens = tokens - requested
  allowed = 1
end

redis.call("HSET", key, "tokens", tokens, "ts", now)
redis.call("PEXPIRE", key, math.ceil(capacity / rate * 1000) + 1000)

local wait = 0
if tokens < 1 then
  wait = math.ceil((1 - tokens) / rate * 1000)
end
return { allowed, math.floor(tokens), wait }
