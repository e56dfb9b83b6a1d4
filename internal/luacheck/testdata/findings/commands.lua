-- Commands Redis refuses, rejects or runs slowly.
redis.call("SETT", KEYS[1], "v")
redis.call("HGETALLL", KEYS[1])
redis.call("NOSUCHTHING")
redis.call("JSON.SET", KEYS[1], "$", "{}")
redis.call("HEXPIRE", KEYS[1], 60, "FIELDS", 1, "f")

local all = redis.call("KEYS", "session:*")
redis.call("FLUSHALL")
redis.call("flushdb", "ASYNC")

redis.call("MULTI")
redis.call("BLPOP", KEYS[1], 0)
redis.call("EVAL", "return 1", 0)
redis.call("CONFIG", "SET", "maxmemory", "1gb")

redis.call("SET", KEYS[1])
redis.call("GET", KEYS[1], KEYS[2])
redis.call("OBJECT", "ENCODING")
redis.call("INCR", KEYS[1], unpack(ARGV))
redis.call("GET", KEYS[1], "x", unpack(ARGV))
redis.call("SET", KEYS[1], unpack(ARGV))
return all
