-- Compare-and-swap: sets a key to a new value only if it holds the
-- expected one. A missing key never matches, not even an empty expected
-- value. Values are compared byte for byte.
-- @key key        the key
-- @arg expected   the expected value
-- @arg desired    the new value
-- @arg ttl        time to live in milliseconds, or "" to keep the key's TTL
-- @return 1 when the key was set, 0 when it held something else or was
--         missing
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
