-- Releases a lock if the caller still holds it, and wakes its waiters.
-- @key lock      the lock key
-- @arg token     the caller's token
-- @arg channel   the channel the lock's waiters subscribe to
-- @return 1 when the lock held the token: the key is deleted and its name
--         published on the channel, in the same atomic step (unless the
--         user's ACL refuses the PUBLISH: the key is deleted all the same,
--         and waiters find it free by polling); 0, and nothing changed,
--         when the key is missing (expired) or holds another token
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
-- pcall: an error here would report a release that happened as failed.
redis.pcall('PUBLISH', ARGV[2], KEYS[1])
return 1
