-- Adds points to a player and returns the player's rank and the top N.
--
-- KEYS[1] leaderboard sorted set
-- KEYS[2] player names hash
-- ARGV[1] player id
-- ARGV[2] display name
-- ARGV[3] points to add
-- ARGV[4] how many leaders to return, default 10
--
-- Returns {score, rank (1-based), {{id, name, score}, ...}}.
local board, names = KEYS[1], KEYS[2]
local player, name = ARGV[1], ARGV[2]
local points = tonumber(ARGV[3])
local top = tonumber(ARGV[4]) or 10

local current = tonumber(redis.call("ZSCORE", board, player)) or 0
local score = current + points
redis.call("ZADD", board, score, player)
redis.call("HSET", names, player, name)

local rank = redis.call("ZREVRANK", board, player)
local leaders = redis.call("ZREVRANGE", board, 0, top - 1, "WITHSCORES")

local out = {}
for i = 1, #leaders, 2 do
  local id = leaders[i]
  table.insert(out, { id, redis.call("HGET", names, id), leaders[i + 1] })
end
return { tostring(score), rank + 1, out }
