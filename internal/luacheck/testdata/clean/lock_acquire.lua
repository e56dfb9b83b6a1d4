-- Acquires a lock and hands out a fencing token.
--
-- KEYS[1] lock key
-- KEYS[2] fencing counter key
-- ARGV[1] owner token (random, unique per client)
-- ARGV[2] time to live (milliseconds)
--
-- Returns the fencing token (an increasing integer), or false when another
-- owner holds the lock. Re-acquiring an owned lock extends it and returns
-- the current token.
local lockKey = KEYS[1]
local fenceKey = KEYS[2]
local owner = ARGV[1]
local ttl = tonumber(ARGV[2])

if not ttl or ttl <= 0 then
  return redis.error_reply("ERR ttl must be a positive number")
end

if redis.call("SET", lockKey, owner, "NX", "PX", ttl) then
  return redis.call("INCR", fenceKey)
end

if redis.call("GET", lockKey) == owner then
  redis.call("PEXPIRE", lockKey, ttl)
  return tonumber(redis.call("GET", fenceKey)) or redis.call("INCR", fenceKey)
end
return false
