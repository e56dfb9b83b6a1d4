-- Appends integers to a list and adds them to a running sum, in one step.
-- KEYS[1] the list
-- KEYS[2] the running sum, a decimal integer (missing counts as 0)
-- ARGV[1] the total of the numbers, added up by the caller in int64
-- ARGV[2..] the numbers, in decimal
-- Returns {the list's length, the new sum as a decimal string}.
--
-- A Redis error after a write does not undo that write, so whatever can
-- fail comes first: the list's type is checked (a read), then INCRBY
-- either adds the total or refuses (a sum that is not an integer, or
-- int64 overflow) without changing anything. RPUSH on a list cannot fail
-- after that. Lua numbers are doubles, exact only up to 2^53, so the sum
-- is never turned into one: INCRBY adds in int64 and GET returns it as
-- text.
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'list' and kind ~= 'none' then
  return redis.error_reply('WRONGTYPE the list key holds a ' .. kind)
end
redis.call('INCRBY', KEYS[2], ARGV[1])
local length = redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))
return {length, redis.call('GET', KEYS[2])}
