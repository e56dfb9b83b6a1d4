#!lua flags=no-writes
-- Reads the top N players of a leaderboard (read-only: runs on replicas).
--
-- KEYS[1] leaderboard sorted set
-- KEYS[2] player names hash
-- ARGV[1] how many, default 10
--
-- Returns {{id, name, score}, ...}.
local n = tonumber(ARGV[1]) or 10
local leaders = redis.call("ZREVRANGE", KEYS[1], 0, n - 1, "WITHSCORES")
if #leaders == 0 then
  return {}
end

local ids = {}
for i = 1, #leaders, 2 do
  ids[#ids + 1] = leaders[i]
end
local names = redis.call("HMGET", KEYS[2], unpack(ids))

local out = {}
for i, id in ipairs(ids) do
  out[i] = { id, names[i] or id, leaders[2 * i] }
end
return out
