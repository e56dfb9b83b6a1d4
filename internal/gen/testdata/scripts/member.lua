-- Reports whether a set holds a member.
-- @key set  the set
-- @arg member string
-- @return bool  true when the set holds it
-- @readonly
return redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1
