-- Spends from a daily quota with an audit trail: a script of about 2 KiB,
-- the size of a typical piece of business logic, for the pipeline
-- benchmarks, where the bytes each call carries are what is measured.
--
-- The quota is a hash with the fields "used" and "limit". A call adds
-- amount to "used" when that stays within "limit" (a missing limit means
-- no limit), and returns the new "used"; it returns -1 when the amount
-- does not fit, and leaves the hash unchanged. The hash expires one day
-- after its first use, so that the quota restarts each day.
--
-- The checks below are the kind real scripts carry: arguments arrive as
-- strings, a caller may send garbage, and a script that fails half-way
-- leaves whatever it wrote before the failure, so every check comes before
-- the first write.
-- @key quota    the quota hash (fields "used" and "limit")
-- @arg amount   a positive integer to spend
-- @return the quota used after the call, or -1 when it would exceed limit
local amount = tonumber(ARGV[1])
if amount == nil then
  return redis.error_reply('ERR amount is not a number')
end
if amount <= 0 or amount ~= math.floor(amount) then
  return redis.error_reply('ERR amount must be a positive integer')
end

-- Read both fields in one call; a missing field reads as false.
local fields = redis.call('HMGET', KEYS[1], 'used', 'limit')
local used = tonumber(fields[1]) or 0
local limit = tonumber(fields[2])

-- A limit of zero or less blocks every spend, as a frozen account would.
if limit ~= nil and used + amount > limit then
  return -1
end

-- The first spend of the day starts the day's expiry; later spends keep
-- it, so that the quota resets one day after it was first used, not one
-- day after it was last used.
local fresh = used == 0 and fields[1] == false
local after = redis.call('HINCRBY', KEYS[1], 'used', amount)
if fresh then
  redis.call('EXPIRE', KEYS[1], 86400)
end

-- A counter of calls, for the audit trail a real quota would keep (who
-- spent what is left to the caller's own log: it would need more keys).
redis.call('HINCRBY', KEYS[1], 'calls', 1)
return after
