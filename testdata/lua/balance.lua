-- Reads a balance, 0 when missing.
-- @readonly
-- KEYS[1] balance
-- Returns the balance as an integer.
return tonumber(redis.call('GET', KEYS[1]) or '0')
