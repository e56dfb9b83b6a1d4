#!lua name=failover_counter
-- The counter of the Functions failover and restart tests.
-- failover_incr: KEYS[1] the counter; INCR, returns the new count.
-- failover_get (no-writes): KEYS[1] the counter; returns it, or nil.
redis.register_function('failover_incr', function(keys)
  return redis.call('INCR', keys[1])
end)
redis.register_function{function_name='failover_get', callback=function(keys)
  return redis.call('GET', keys[1])
end, flags={'no-writes'}}
