-- Extends a lock's TTL if the caller still holds it.
--
-- KEYS[1]  the lock key
-- ARGV[1]  the caller's token
-- ARGV[2]  the new TTL in milliseconds (at least 1)
--
-- Returns 1 when KEYS[1] held ARGV[1] and its TTL is now ARGV[2]; 0, and
-- changes nothing, when the key is missing (expired) or holds another token.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
