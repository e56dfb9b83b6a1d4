-- Fenced write, the storage side of fencing tokens: sets a key only if the
-- caller's fence is at least the highest fence accepted for that key, so a
-- client that paused past its lock's expiry cannot overwrite what a later
-- lock holder wrote. An equal fence is accepted: the same holder may write
-- again. Both keys keep their TTL, if any. Fences may exceed 2^53, beyond
-- which Lua numbers (doubles) are not exact, so they are compared as
-- decimal strings.
-- @key key       the key
-- @key highest   the highest fence accepted for the key (a decimal integer)
-- @arg value     the value
-- @arg fence     the fence, an int64 in decimal
-- @return 1 when written, 0 when the fence is below the highest seen, -1
--         when the highest-fence key holds something other than an integer
--         (nothing written); a WRONGTYPE error, and nothing written, when
--         key holds another type than a string
--- @include "../lib/int64"

-- SET would replace a hash or a list with a string: refuse other types
-- first. STRLEN raises WRONGTYPE for them, and costs O(1) for any string.
redis.call('STRLEN', KEYS[1])

local highest = redis.call('GET', KEYS[2])
if highest then
  if not isInt64(highest) then
    return -1
  end
  if cmp(ARGV[2], highest) < 0 then
    return 0
  end
end
redis.call('SET', KEYS[2], ARGV[2], 'KEEPTTL')
redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
return 1
