-- A script flagged no-writes.
local value = redis.call("GET", KEYS[1])
redis.call("SET", KEYS[1], "x")
redis.call("del", KEYS[1])
redis.call("PUBLISH", "channel", value)
redis.call("OBJECT", "ENCODING", KEYS[1])
redis.call("XGROUP", "CREATE", KEYS[1], "group", "$")
return redis.call("TTL", KEYS[1])
