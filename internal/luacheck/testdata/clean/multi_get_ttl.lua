-- Reads several string keys with their remaining time to live.
--
-- KEYS[*] keys to read
--
-- Returns a list of {key, value, ttl in ms} for the keys that exist.
local result = {}
for i = 1, #KEYS do
  local value = redis.call("GET", KEYS[i])
  if value then
    result[#result + 1] = { KEYS[i], value, redis.call("PTTL", KEYS[i]) }
  end
end
return result
