-- Refreshes a session and returns its decoded fields.
--
-- KEYS[1] session hash
-- KEYS[2] sessions-by-expiry sorted set
-- ARGV[1] session id
-- ARGV[2] idle timeout (seconds)
-- ARGV[3] now (seconds)
--
-- Returns the session as a JSON object, or nil when it does not exist.
local session, byExpiry = KEYS[1], KEYS[2]
local id = ARGV[1]
local timeout = tonumber(ARGV[2])
local now = tonumber(ARGV[3])

local fields = redis.call("HGETALL", session)
if #fields == 0 then
  redis.call("ZREM", byExpiry, id)
  return nil
end

local decoded = setmetatable({}, { __index = function(_, name)
  return redis.error_reply("no field " .. name)
end })
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  decoded[name] = tonumber(value) or value
end

local expires = now + timeout
redis.call("EXPIRE", session, timeout)
redis.call("ZADD", byExpiry, expires, id)
redis.log(redis.LOG_DEBUG, "session " .. id .. " expires at " .. expires)

rawset(decoded, "expires_at", expires)
return cjson.encode(decoded)
