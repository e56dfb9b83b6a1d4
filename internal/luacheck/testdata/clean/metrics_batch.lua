-- Records a batch of metrics and returns a summary line.
--
-- KEYS[1] recent entries list
-- KEYS[2] totals hash
-- ARGV    name1, value1, name2, value2, ...
--
-- Returns "N entries, sum S, avg A".
local list, totals = KEYS[1], KEYS[2]
local entries = {}
local sum = 0

for i = 1, #ARGV, 2 do
  local name = ARGV[i]
  local value = tonumber(ARGV[i + 1])
  if not value then
    return redis.error_reply(string.format("ERR value for %s is not a number", name))
  end
  sum = sum + value
  table.insert(entries, string.format("%s=%d", name, math.floor(value)))
  redis.call("HINCRBYFLOAT", totals, name, value)
end

if #entries > 0 then
  redis.call("RPUSH", list, unpack(entries))
  redis.call("LTRIM", list, -1000, -1)
end

local avg = #entries > 0 and sum / #entries or 0
return string.format("%d entries, sum %.2f, avg %.2f", #entries, sum, avg)
