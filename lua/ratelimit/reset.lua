-- Forgets everything a rate limiter recorded for one key.
-- @key keys...   the limiter's keys for that key (its log and its counter)
-- @return the number of keys deleted

return redis.call('DEL', unpack(KEYS))
