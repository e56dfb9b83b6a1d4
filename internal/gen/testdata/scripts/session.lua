-- Stores a session, with an optional lifetime and flag.
-- @key session  the session's string
-- @key meta     the session's flags, a hash
-- @arg value  anything Redis stores
-- @arg [ttl] int64  seconds it lives
-- @arg [sticky] bool  refresh the lifetime on reads
-- @return the reply of SET
local r = redis.call('SET', KEYS[1], ARGV[1])
if ARGV[2] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
redis.call('HSET', KEYS[2], 'sticky', ARGV[3] or '0')
return r
