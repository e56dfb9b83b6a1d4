-- Re-entrant lock in the style of Redisson: a hash of owner -> hold count.
--
-- KEYS[1] lock hash
-- ARGV[1] lease time (ms)
-- ARGV[2] owner id (client id and thread)
--
-- Returns nil when acquired, or the lock's remaining ttl (ms) when another
-- owner holds it.
if (redis.call('exists', KEYS[1]) == 0) then
    redis.call('hincrby', KEYS[1], ARGV[2], 1);
    redis.call('pexpire', KEYS[1], ARGV[1]);
    return nil;
end;
if (redis.call('hexists', KEYS[1], ARGV[2]) == 1) then
    redis.call('hincrby', KEYS[1], ARGV[2], 1);
    redis.call('pexpire', KEYS[1], ARGV[1]);
    return nil;
end;
return redis.call('pttl', KEYS[1]);
