-- Greets a user by the name stored for them.
-- @key user  hash with a "name" field
-- @arg [punctuation] string  appended to the greeting, "!" when left out
-- @return string  the greeting
local name = redis.call('HGET', KEYS[1], 'name') or 'stranger'
return 'hello ' .. name .. (ARGV[1] or '!')
