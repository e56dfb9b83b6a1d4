-- Reads a balance, 0 when missing.
-- @key balance  integer balance
-- @return the balance as an integer
-- @readonly
return tonumber(redis.call('GET', KEYS[1]) or '0')
