-- Sums a list of integers.
-- @key list  list of integers
-- @return json Summary  {"count": n, "sum": s}
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local sum = 0
for _, v in ipairs(items) do
  sum = sum + tonumber(v)
end
return cjson.encode({count = #items, sum = sum})
