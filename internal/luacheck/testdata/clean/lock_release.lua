-- Releases a lock if the caller still owns it.
--
-- KEYS[1] lock key
-- ARGV[1] owner token
--
-- Returns 1 when released, 0 when the lock was not held by this owner.
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
