-- Adds tags to a set and returns all of them, sorted.
-- @key tags  set of tags
-- @arg add... string  tags to add
-- @return []string  every tag, in byte order
if #ARGV > 0 then
  redis.call('SADD', KEYS[1], unpack(ARGV))
end
local all = redis.call('SMEMBERS', KEYS[1])
table.sort(all)
return all
