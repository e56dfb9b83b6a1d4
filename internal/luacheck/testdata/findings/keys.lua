-- Keys that do not come from KEYS.
local rcall = redis.call
local call = redis.pcall
local prefix = ARGV[1]

redis.call("GET", "config:limits")
redis.call("SET", KEYS[1] .. ":copy", "1")
redis.call("HGET", ARGV[2], "field")
rcall("INCR", prefix .. "counter")
call("DEL", string.format("%s:tmp", KEYS[1]))

local userKey = "user:" .. ARGV[3]
redis.call("HGETALL", userKey)

local raw = ARGV[4]
rcall("EXPIRE", raw, 10)

redis.call("MSET", KEYS[1], "a", "literal:key", "b")
redis.call("RENAME", KEYS[1], KEYS[1] .. ":old")
pcall(redis.call, "LPUSH", "queue:literal", "job")

-- Fine: from KEYS, through locals, loops and parameters.
local k = KEYS[2]
redis.call("GET", k)
for _, key in ipairs(KEYS) do redis.call("DEL", key) end
for i = 1, #KEYS do rcall("TTL", KEYS[i]) end
local function touch(key) return rcall("TOUCH", key) end
touch(KEYS[1])
redis.call("MGET", unpack(KEYS))
redis.call("SET", KEYS[1], ARGV[1])
local dynamic = "GET"
redis.call(dynamic, "not-checked")
