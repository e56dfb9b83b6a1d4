#!lua name=gen_counters
-- A library of counters.
redis.register_function('gen_counters_incr', function(keys, args)
  return redis.call('INCRBY', keys[1], args[1] or 1)
end)
redis.register_function{function_name='gen_counters_get', callback=function(keys)
  return tonumber(redis.call('GET', keys[1]) or '0')
end, flags={'no-writes'}}
