-- Claims stale stream entries for a consumer, acknowledging poison ones.
--
-- KEYS[1] stream
-- KEYS[2] dead letter list
-- ARGV[1] group
-- ARGV[2] consumer
-- ARGV[3] minimum idle time (ms)
-- ARGV[4] maximum deliveries before an entry is dead
--
-- Returns the claimed entries.
local stream, dead = KEYS[1], KEYS[2]
local group, consumer = ARGV[1], ARGV[2]
local maxDeliveries = tonumber(ARGV[4])

local claimed = {}
local pending = redis.call("XPENDING", stream, group, "IDLE", ARGV[3], "-", "+", 100)
for _, entry in ipairs(pending) do
  local id, deliveries = entry[1], entry[4]
  if deliveries >= maxDeliveries then
    redis.call("XACK", stream, group, id)
    redis.call("RPUSH", dead, id)
  else
    local got = redis.call("XCLAIM", stream, group, consumer, ARGV[3], id)
    for _, e in ipairs(got) do
      claimed[#claimed + 1] = e
    end
  end
end
return claimed
