-- Reads a lock's remaining time to live, if the caller holds it.
-- @readonly
-- @key lock    the lock key
-- @arg token   the caller's token
-- @return the PTTL of the lock in milliseconds (-1 if something removed its
--         TTL) when it holds the token; nil when the key is missing
--         (expired) or holds another token
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return false
end
return redis.call('PTTL', KEYS[1])
