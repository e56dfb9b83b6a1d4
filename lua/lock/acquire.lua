-- Takes a lock if it is free and issues the next fencing token. If the lock
-- already holds the caller's token (a resent attempt whose first reply was
-- lost), the TTL is set again and the fence is the counter as it is: nobody
-- else can have taken the lock meanwhile. If the counter cannot be
-- incremented, the lock is deleted again before the script ends, so the
-- caller does not hold it and nothing is left half done.
-- @key lock    the lock key: the holder's token, with a TTL, while held
-- @key fence   the lock's fence counter, in the lock key's slot; it never
--              expires
-- @arg token   the caller's token, random for each acquisition
-- @arg ttl     the TTL in milliseconds (at least 1)
-- @return {1, fence} when the caller now holds the lock: fence is the
--         counter after INCR, an integer strictly between -2^53 and 2^53
--         and a decimal string outside (a Lua number is a double, and
--         would round it), a string when the attempt is resent; {0, pttl}
--         when another token holds it (pttl is the lock's remaining time
--         to live in ms, -1 when it has none); {-1, why} when the counter
--         cannot issue a fence and the lock is not taken: why is
--         'exhausted' (the counter is at the largest int64), 'notinteger'
--         (it holds something other than an integer) or 'wrongtype' (it
--         is not a string)
--- @include "../lib/int64"

if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local fence = redis.pcall('INCR', KEYS[2])
  if type(fence) == 'number' then
    -- Doubles are exact strictly between -2^53 and 2^53; a counter written
    -- from outside may be anywhere in the int64 range.
    if fence < 9007199254740992 and fence > -9007199254740992 then
      return {1, fence}
    end
    return {1, redis.call('GET', KEYS[2])}
  end
  -- INCR refused: undo the SET, then say why from the counter itself.
  redis.call('DEL', KEYS[1])
  if redis.call('TYPE', KEYS[2])['ok'] ~= 'string' then
    return {-1, 'wrongtype'}
  end
  local counter = redis.call('GET', KEYS[2])
  if not isInt64(counter) then
    return {-1, 'notinteger'}
  end
  if counter == INT64_MAX then
    return {-1, 'exhausted'}
  end
  return fence -- another error reply: raise it, with nothing changed
end
-- Held: SET NX failed, so the key exists until this script ends.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, redis.call('GET', KEYS[2]) or '0'}
end
return {0, redis.call('PTTL', KEYS[1])}
