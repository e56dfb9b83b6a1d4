-- Sliding-window log: admits n calls when, counting them, no more than
-- limit calls fall inside the last window, timed by the server's clock.
-- A request for n calls adds n members rather than one member carrying a
-- weight: ZCARD then counts the window in O(1), where weights would have to
-- be summed on every request or kept in a second count that every trim
-- adjusts; the set holds at most limit members either way.
--
-- Time is whole microseconds. TIME's seconds * 1000000 + microseconds is
-- about 1.8e15, below 2^53, and so is every sum and difference below: Lua's
-- doubles hold them all exactly, nothing is rounded. Numbers become member
-- strings through string.format('%d'), because Lua 5.1's tostring keeps
-- only 14 significant digits.
-- @key log      a sorted set with one member per admitted call, scored by
--               the call's time in microseconds; it expires one window
--               after the newest call, so an idle key costs nothing
-- @arg limit    calls admitted per window (1 <= limit < 2^53)
-- @arg window   the window, in microseconds (>= 1000)
-- @arg n        calls this request counts for (1 <= n <= limit)
-- @return {allowed, remaining, retry_after, reset_after}, durations in
--         microseconds: allowed is 1 if the n calls were admitted and
--         recorded, 0 if not (then nothing was recorded); remaining is the
--         calls that would be admitted now; retry_after is 0 if allowed,
--         else the time until the oldest calls have left the window and n
--         calls fit; reset_after is the time until every recorded call has
--         left the window

local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local n = tonumber(ARGV[3])

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

-- If the server's clock is behind the newest recorded call (a clock
-- stepped back, a failover to a node whose clock differs), hold time at
-- that call: for one key time never runs backwards, so no call leaves the
-- window early and the members below stay unique.
local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]
if newest then
  newest = tonumber(newest)
  if newest > now then
    now = newest
  end
end

-- A call made at now - window or earlier has left the window.
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%d', now - window))
local count = redis.call('ZCARD', key)

if count + n > limit then
  -- n calls fit once the k oldest have left; k <= count because n <= limit.
  local k = count + n - limit
  local kth = tonumber(redis.call('ZRANGE', key, k - 1, k - 1, 'WITHSCORES')[2])
  local remaining = limit - count
  if remaining < 0 then -- the limit was lowered while calls were recorded
    remaining = 0
  end
  return {0, remaining, kth + window - now, newest + window - now}
end

-- Members are "<time>:<sequence>", the sequence starting at count. Every
-- request that sees the same time trims at the same bound, so after the
-- first of them nothing more leaves and count grows by each request's n:
-- their members differ. ZADD NX never overwrites a member; should one
-- exist anyway (two limiters with different windows sharing a key), it is
-- not counted and the loop adds the next sequence number, so exactly n
-- members are added.
local stamp = string.format('%d', now)
local prefix = stamp .. ':'
local seq = count
local missing = n
while missing > 0 do
  local batch = math.min(missing, 256) -- bounded: unpack has a stack limit
  local args = {}
  for i = 1, batch do
    args[2 * i - 1] = stamp
    args[2 * i] = prefix .. seq
    seq = seq + 1
  end
  missing = missing - redis.call('ZADD', key, 'NX', unpack(args))
end
redis.call('PEXPIRE', key, math.ceil(window / 1000))

return {1, limit - count - n, 0, window}
