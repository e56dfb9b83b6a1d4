-- Compare-and-swap on many keys at once: sets every key that holds the
-- expected value to the new value (e.g. every job from "pending" to
-- "active"). Missing keys never match; a key listed twice counts once.
-- Every key is read before any is written: a Redis error (a key of another
-- type) does not undo earlier writes, so it must come before them.
-- @key keys...    the keys, all in one hash slot on a cluster
-- @arg expected   the expected value
-- @arg desired    the new value
-- @arg ttl        time to live in milliseconds for every key set, or "" to
--                 keep each key's TTL
-- @return the number of keys set
local matched, seen = {}, {}
for i = 1, #KEYS do
  local key = KEYS[i]
  if not seen[key] then
    seen[key] = true
    if redis.call('GET', key) == ARGV[1] then
      matched[#matched + 1] = key
    end
  end
end
for i = 1, #matched do
  if ARGV[3] == '' then
    redis.call('SET', matched[i], ARGV[2], 'KEEPTTL')
  else
    redis.call('SET', matched[i], ARGV[2], 'PX', ARGV[3])
  end
end
return #matched
