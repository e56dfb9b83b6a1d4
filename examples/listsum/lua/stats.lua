-- Reads the list and its running sum.
-- @readonly
-- KEYS[1] the list
-- KEYS[2] the running sum
-- Returns {the list's items, the sum as a decimal string ('0' if missing)}.
return {redis.call('LRANGE', KEYS[1], 0, -1), redis.call('GET', KEYS[2]) or '0'}
