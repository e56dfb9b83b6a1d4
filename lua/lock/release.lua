-- Releases a lock if the caller still holds it, and wakes its waiters.
--
-- KEYS[1]  the lock key
-- ARGV[1]  the caller's token
-- ARGV[2]  the channel the lock's waiters subscribe to
--
-- Returns 1 when KEYS[1] held ARGV[1]: the key is deleted and KEYS[1] is
-- published on ARGV[2], in the same atomic step. Returns 0 and changes
-- nothing when the key is missing (expired) or holds another token.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], KEYS[1])
return 1
