-- Takes a lock if it is free, without a fencing token (lock.Options.NoFence):
-- the lock key is the only key. If the lock already holds the caller's
-- token (a resent attempt whose first reply was lost), the TTL is set
-- again.
-- @key lock    the lock key: the holder's token, with a TTL, while held
-- @arg token   the caller's token, random for each acquisition
-- @arg ttl     the TTL in milliseconds (at least 1)
-- @return {1, 0} when the caller now holds the lock; {0, pttl} when
--         another token holds it (pttl is the lock's remaining time to
--         live in ms, -1 when it has none)
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, 0}
end
-- Held: SET NX failed, so the key exists until this script ends.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, 0}
end
return {0, redis.call('PTTL', KEYS[1])}
