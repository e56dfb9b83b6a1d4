-- Extends a lock the caller owns, checking its fencing token.
--
-- KEYS[1] lock key
-- KEYS[2] fencing counter key
-- ARGV[1] owner token
-- ARGV[2] new time to live (milliseconds)
-- ARGV[3] fencing token the caller holds
--
-- Returns the remaining ttl, or an error reply when the lock was lost.
local owner = redis.call("GET", KEYS[1])
if owner ~= ARGV[1] then
  return redis.error_reply("LOCKLOST lock is not held by this owner")
end

local fence = tonumber(redis.call("GET", KEYS[2]) or "0")
if fence ~= tonumber(ARGV[3]) then
  return redis.error_reply("LOCKLOST a newer owner took the lock")
end

redis.call("PEXPIRE", KEYS[1], ARGV[2])
return redis.call("PTTL", KEYS[1])
