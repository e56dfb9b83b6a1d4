-- Sliding-window log: admits n calls when, counting them, no more than
-- limit calls fall inside the last window, timed by the server's clock.
-- A request for n calls adds n members rather than one member carrying a
-- weight: the window's calls are then a count of members by score, where
-- weights would have to be summed on every request or kept in a second
-- count that every trim adjusts; the set holds at most limit + 7 members
-- either way.
--
-- The work of one call is bounded whatever the limit: it adds n <= 128
-- members, removes at most 128 of the calls that have left the window
-- (the oldest; only when admitted, and only once 8 have left), and
-- otherwise only counts and reads by score or rank, O(log N) on the
-- sorted set's skiplist. Calls that have left the window but are not
-- removed yet are never counted. Removing as many as a call may add keeps
-- the set within limit + 7 members: a call that adds n either removes n or
-- more, or removes every call that had left, or leaves fewer than 8.
--
-- Time is whole microseconds. TIME's seconds * 1000000 + microseconds is
-- about 1.8e15, and with two windows of at most ten years added still
-- below 2^53 until about 2235: Lua's doubles hold every sum and difference
-- below exactly, nothing is rounded. Numbers become member strings through
-- string.format('%d'), because Lua 5.1's tostring keeps only 14
-- significant digits.
-- @key log      a sorted set with one member per admitted call, scored by
--               the call's time in microseconds; it expires one window
--               and up to 0.1 s after its newest call, so an idle key
--               costs nothing
-- @arg limit    calls admitted per window (1 <= limit < 2^53)
-- @arg window   the window, in microseconds (1000 to 3.1536e14, ten years)
-- @arg n        calls this request asks for (0 <= n <= limit, n <= 128); 0
--               only reads the state
-- @arg atmost   1 to admit as many of the n calls as fit (at least one), 0
--               to admit all n or none
-- @return {admitted, remaining, retry_after, reset_after}, durations in
--         microseconds: admitted is the number of calls admitted and
--         recorded, 0 if none (then nothing was recorded); remaining is the
--         calls that would be admitted now; retry_after is 0 if allowed,
--         else the time until the oldest calls have left the window and n
--         calls fit; reset_after is the time until every recorded call has
--         left the window (when calls recorded at a later server time than
--         now are kept, see below, it comes from the key's TTL: to the
--         millisecond, and after an admitted call within 0.1 s)

local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local atmost = ARGV[4] == '1'

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

-- The calls made at now - window or earlier have left the window: they are
-- not counted. An admitted call removes up to 128 of them, the oldest; a
-- refused call writes nothing.
--
-- The server's clock may be behind calls already recorded (a clock stepped
-- back, a failover to a node whose clock differs). Such calls stay in the
-- set, scored later than now: they have not left the window, so they are
-- neither removed nor skipped, and count against the limit until the clock
-- has passed their window. No call leaves the window early; what could
-- shorten their life is the PEXPIRE at the end, which is why it only ever
-- extends the key's TTL.
-- The calls in the window: the set's members after the `gone` oldest.
-- (Counting those that left, from the low end, is the cheaper count while
-- the set is a listpack, which ZCOUNT scans from its start.)
local gone = redis.call('ZCOUNT', key, '-inf', string.format('%d', now - window))
local count = redis.call('ZCARD', key) - gone

local fit = limit - count -- below 0 if the limit was lowered
if n == 0 then
  -- Only the state: nothing is written.
  local reset = 0
  if count > 0 then
    reset = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]) + window - now
  end
  return {0, math.max(fit, 0), 0, reset}
end
if atmost then
  -- As many as fit, and when none does, the answer for one.
  n = math.max(math.min(n, fit), 1)
end

if count + n > limit then
  -- Refused: nothing is written, not even the trim, which the next
  -- admitted call does. n calls fit once the k oldest in the window have
  -- left; k <= count because n <= limit.
  local k = count + n - limit
  local kth = tonumber(redis.call('ZRANGE', key, gone + k - 1, gone + k - 1, 'WITHSCORES')[2])
  local newest = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
  local remaining = limit - count
  if remaining < 0 then -- the limit was lowered while calls were recorded
    remaining = 0
  end
  return {0, remaining, kth + window - now, newest + window - now}
end

-- Admitted: remove up to 128 of the calls that have left the window, the
-- oldest (the lowest ranks), once there are 8 of them: removing costs the
-- server about as much as a call's other writes, and in batches it is paid
-- on one call in 8 or fewer.
if gone >= 8 then
  redis.call('ZREMRANGEBYRANK', key, 0, math.min(gone, 128) - 1)
end

-- Members are "<time>:<sequence>", the sequence starting at count. Every
-- request that sees the same time trims at the same bound, so after the
-- first of them nothing more leaves and count grows by each request's n:
-- their members differ. ZADD NX never overwrites a member; should one
-- exist anyway (two limiters with different windows sharing a key, or a
-- time seen again after the clock stepped back), it is not counted and the
-- loop adds the next sequence number, so exactly n members are added.
local stamp = string.format('%d', now)
local prefix = stamp .. ':'
local seq = count
if n == 1 then
  -- The common request, without building an argument table.
  while redis.call('ZADD', key, 'NX', stamp, prefix .. seq) == 0 do
    seq = seq + 1
  end
else
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
end

-- The key must live until its newest call has left the window: one
-- window from now, or later for calls recorded at a later server time.
-- Setting an expiry costs the server more than reading it, so the key is
-- given 0.1 s more than it needs, and a call sets it only when it would
-- expire within one window: about once per 0.1 s of a busy key. A key
-- without a TTL (created by this call, or whose TTL something outside this
-- script removed) gets one. A TTL is never shortened.
local ttl = math.ceil(window / 1000)
local pttl = redis.call('PTTL', key)
if pttl <= ttl + 1 then
  redis.call('PEXPIRE', key, ttl + 100)
  return {n, limit - count - n, 0, window}
end
-- The expiry was kept, set by an earlier call to its time plus the window
-- plus 0.1 s: reset_after is the window, unless that call's time is later
-- than now (the clock is behind it), when it comes from the TTL, rounded
-- to the millisecond and short of the newest call's by up to 0.1 s.
return {n, limit - count - n, 0, math.max(window, (pttl - 100) * 1000)}
