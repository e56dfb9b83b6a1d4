#!lua name=bench
-- The function library of the benchmarks: the same work as incr.lua, as
-- a function, so that a benchmark of it measures the client and the round
-- trip of FCALL, not Lua; and a no-writes function for FCALL_RO.

-- Adds args[1] to the counter keys[1] and returns the counter after the
-- addition.
redis.register_function('bench_incr', function(keys, args)
  return redis.call('INCRBY', keys[1], args[1])
end)

-- Returns the counter keys[1] (nil when it is missing), without writing.
redis.register_function{
  function_name = 'bench_get',
  callback = function(keys)
    return redis.call('GET', keys[1])
  end,
  flags = {'no-writes'},
}
