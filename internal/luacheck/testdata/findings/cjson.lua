-- Numbers from Redis passed to cjson.encode: 14 significant digits.
local n = redis.call("INCR", KEYS[1])
local views = tonumber(redis.call("HGET", KEYS[2], "views")) or 0
local t = redis.call("TIME")
local micros = t[1] * 1000000 + t[2]
local out = {id = n, stats = {views = views}}
out.at = micros
local doc = cjson.encode(out)
local list = {}
table.insert(list, redis.call("HINCRBY", KEYS[2], "hits", 1))
redis.call("SET", KEYS[3], cjson.encode(list))
redis.call("SET", KEYS[3], cjson.encode({count = math.max(n, 1), nested = {total = views + 1}}))
redis.call("SET", KEYS[3], cjson.encode({at = micros, ms = t[1] * 1000, secs = tonumber(t[1])}))
-- Fine: strings, small replies, numbers not from Redis.
local ok = cjson.encode({id = string.format("%d", n), raw = redis.call("GET", KEYS[1])})
local len = cjson.encode({len = redis.call("LLEN", KEYS[1]), n = tonumber(ARGV[1]), at = micros / 1000000 % 60})
return ok .. len .. cjson.encode(redis.call("INCRBY", KEYS[1], 2))
