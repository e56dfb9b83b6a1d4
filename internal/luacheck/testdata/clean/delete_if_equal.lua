-- Deletes every key in KEYS whose value equals ARGV[1].
--
-- KEYS[*] keys to compare and delete
-- ARGV[1] expected value
--
-- Returns the number of keys deleted.
local deleted = 0
for _, key in ipairs(KEYS) do
  if redis.call("GET", key) == ARGV[1] then
    deleted = deleted + redis.call("DEL", key)
  end
end
return deleted
