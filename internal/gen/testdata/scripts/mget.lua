-- Reads several strings, with a default for missing ones.
-- @arg default string  returned for a missing key
-- @key keys...  the keys to read
-- @return []string  one value per key
local out = {}
for i, k in ipairs(KEYS) do
  out[i] = redis.call('GET', k) or ARGV[1]
end
return out
