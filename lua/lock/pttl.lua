-- Reads a lock's remaining time to live, if the caller holds it.
-- @readonly
--
-- KEYS[1]  the lock key
-- ARGV[1]  the caller's token
--
-- Returns the PTTL of KEYS[1] in milliseconds (-1 if something removed its
-- TTL) when it holds ARGV[1]; nil when the key is missing (expired) or
-- holds another token.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return false
end
return redis.call('PTTL', KEYS[1])
