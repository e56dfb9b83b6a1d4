#!lua name=example_visits
-- A library of two functions that count a page's visits.
-- example_visits_hit: KEYS[1] the page's counter, ARGV[1] seconds it
--   lives after the last visit; counts a visit, returns the count.
-- example_visits_count (no-writes): KEYS[1] the page's counter; returns
--   the count, 0 for none.
local function hit(keys, args)
  local n = redis.call('INCR', keys[1])
  redis.call('EXPIRE', keys[1], args[1])
  return n
end
redis.register_function('example_visits_hit', hit)

redis.register_function{function_name='example_visits_count', callback=function(keys)
  return tonumber(redis.call('GET', keys[1]) or '0')
end, flags={'no-writes'}}
