-- Takes a lock if it is free and issues the next fencing token. If the lock
-- already holds the caller's token (a resent attempt whose first reply was
-- lost), the TTL is set again and the fence is the counter as it is: nobody
-- else can have taken the lock meanwhile.
-- @key lock    the lock key: the holder's token, with a TTL, while held
-- @key fence   the lock's fence counter, in the lock key's slot; it never
--              expires
-- @arg token   the caller's token, random for each acquisition
-- @arg ttl     the TTL in milliseconds (at least 1)
-- @return {1, fence} when the caller now holds the lock (fence is the
--         counter after INCR); {0, pttl} when another token holds it (pttl
--         is the lock's remaining time to live in ms, -1 when it has none)
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('INCR', KEYS[2])}
end
-- Held: SET NX failed, so the key exists until this script ends.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
return {0, redis.call('PTTL', KEYS[1])}
