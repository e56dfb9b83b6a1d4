-- Returns the cached JSON document, or stores and returns the given one.
--
-- KEYS[1] cache key
-- KEYS[2] hit counter hash
-- ARGV[1] JSON document to store on a miss
-- ARGV[2] time to live (seconds)
--
-- Returns the JSON document, with a "cached" field telling hit or miss.
local cacheKey, statsKey = KEYS[1], KEYS[2]

local cached = redis.call("GET", cacheKey)
if cached then
  local ok, doc = pcall(cjson.decode, cached)
  if ok and type(doc) == "table" then
    redis.call("HINCRBY", statsKey, "hits", 1)
    doc.cached = true
    return cjson.encode(doc)
  end
  -- Corrupt entry: drop it and fall through to a miss.
  redis.call("DEL", cacheKey)
end

local ok, doc = pcall(cjson.decode, ARGV[1])
if not ok or type(doc) ~= "table" then
  return redis.error_reply("ERR ARGV[1] is not a JSON object")
end
doc.cached = false
doc.stored_at = tonumber(redis.call("TIME")[1])

local encoded = cjson.encode(doc)
redis.call("SET", cacheKey, encoded, "EX", tonumber(ARGV[2]) or 60)
redis.call("HINCRBY", statsKey, "misses", 1)
return encoded
