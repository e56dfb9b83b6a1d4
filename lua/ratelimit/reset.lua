-- Forgets everything a rate limiter recorded for one key.
--
-- KEYS     the limiter's keys for that key (its log and its counter)
--
-- Returns the number of keys deleted.
return redis.call('DEL', unpack(KEYS))
