-- Extends a lock's TTL if the caller still holds it.
-- @key lock    the lock key
-- @arg token   the caller's token
-- @arg ttl     the new TTL in milliseconds (at least 1)
-- @return 1 when the lock held the token and its TTL is now ttl; 0, and
--         nothing changed, when the key is missing (expired) or holds
--         another token
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
