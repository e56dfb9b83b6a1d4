-- Reads a balance, 0 when missing.
-- @key balance  integer balance
-- @return int64  the balance
-- @readonly
return tonumber(redis.call('GET', KEYS[1]) or '0')
