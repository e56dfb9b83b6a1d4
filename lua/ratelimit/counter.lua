-- Sliding-window counter: an approximate sliding window in constant memory.
-- It keeps the number of calls admitted in the current fixed window and in
-- the one before, and estimates the calls in the sliding window as
-- current + previous * (share of the previous window still inside it),
-- which assumes the previous window's calls were spread evenly.
--
-- Time is whole microseconds (about 1.8e15; plus two windows of at most ten
-- years, below 2^53 until about 2235): sums, differences and the window
-- index are exact in Lua's doubles. floor(now / window) is exact
-- too: a quotient of integers below 2^53 is rounded by less than
-- 1 / window, which is less than its distance to the next integer. The
-- weighting compares products of a count and a duration; they are exact
-- while limit * window (in microseconds) < 2^53, e.g. 150 million calls per
-- minute, and beyond that a decision within one call of the limit may go
-- either way.
-- @key counter   a hash: w = index of the current fixed window (time /
--                window), c = calls admitted in it, p = calls admitted in
--                window w - 1, u = the window (absent in keys written
--                before it was kept); it expires when its counts stop
--                mattering, at most two windows after the last admitted
--                call (and after the held window, if the clock is behind it)
-- @arg limit     calls admitted per window (1 <= limit < 2^53)
-- @arg window    the window, in microseconds (1000 to 3.1536e14, ten years)
-- @arg n         calls this request asks for (0 <= n <= limit); 0 only
--                reads the state
-- @arg atmost    1 to admit as many of the n calls as fit (at least one), 0
--                to admit all n or none
-- @return {admitted, remaining, retry_after, reset_after}, durations in
--         microseconds: admitted is the number of calls admitted and
--         counted, 0 if none (then nothing was written), -1 if the counts
--         are of another window, u, returned as remaining (nothing
--         written, nothing else returned); remaining is the
--         calls the estimate would admit now; retry_after is 0 if allowed,
--         else the time until the estimate admits n calls; reset_after is
--         the time until the estimate is back to zero; both are real time
--         on the server's clock, even while it is behind the stored window

local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local atmost = ARGV[4] == '1'

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local idx = math.floor(now / window)

local state = redis.call('HMGET', key, 'w', 'c', 'p', 'u')
local w = tonumber(state[1])
if w and state[4] and state[4] ~= ARGV[2] then
  -- Counts of a limiter with another window: counted in this window's
  -- units they would be wrong, and a window index of a shorter window
  -- would read as a clock far behind it.
  return {-1, tonumber(state[4]), 0, 0}
end
local cur, prev = 0, 0
-- How far the held time below is ahead of the server's clock: every wait
-- reported, and the key's TTL, which Redis counts on that clock, add it.
local lag = 0
if w then
  if idx < w then
    -- The server's clock is behind the stored window (a clock stepped back,
    -- a failover): hold time at that window's start.
    idx = w
    lag = w * window - now
    now = w * window
  end
  if idx == w then
    cur, prev = tonumber(state[2]) or 0, tonumber(state[3]) or 0
  elseif idx == w + 1 then
    prev = tonumber(state[2]) or 0
  end
end
local elapsed = now - idx * window -- 0 .. window - 1
local left = window - elapsed      -- how much of window idx - 1 is inside: 1 .. window

local reset = 0
if cur > 0 then
  reset = left + window
elseif prev > 0 then
  reset = left
end
if reset > 0 then
  reset = reset + lag
end

-- The calls the estimate admits now.
local fit = limit - cur - math.ceil(prev * left / window)
if fit < 0 then
  fit = 0
end
if n == 0 then
  return {0, fit, 0, reset} -- only the state: nothing is written
end
if atmost then
  -- As many as fit, and when none does, the answer for one.
  n = math.max(math.min(n, fit), 1)
end

-- Admit when cur + n + prev * left / window <= limit, compared without
-- dividing.
local room = limit - cur - n
local allowed = room >= 0 and prev * left <= room * window

local retry = 0
if allowed then
  cur = cur + n
  if w == idx then
    -- The window's fields and expiry are set: only its count changes.
    redis.call('HSET', key, 'c', string.format('%d', cur))
  else
    -- The first call of window idx (time is not held here: idx > w): its
    -- counts last until window idx + 1 ends, an expiry the same for every
    -- call in the window. Set once, by this call: setting an expiry costs
    -- the server more than the rest of the write.
    redis.call('HSET', key, 'w', string.format('%d', idx), 'c', string.format('%d', cur), 'p', string.format('%d', prev), 'u', ARGV[2])
    redis.call('PEXPIRE', key, math.ceil((window + left) / 1000))
  end
else
  -- Later in this window, prev's share shrinks: n calls fit once
  -- prev * left' <= room * window, i.e. when elapsed reaches `at`.
  if room >= 0 then
    local at = window - math.floor(room * window / prev)
    if at < window then
      retry = math.max(at - elapsed, 1)
    end
  end
  -- Else in the next window, where cur becomes the previous count; and at
  -- the latest in the one after, where nothing is counted.
  if retry == 0 then
    if cur == 0 then
      retry = left
    else
      local at = math.max(window - math.floor((limit - n) * window / cur), 0)
      if at < window then
        retry = left + at
      else
        retry = left + window
      end
    end
  end
end

local remaining = limit - cur - math.ceil(prev * left / window)
if remaining < 0 then
  remaining = 0
end
if allowed then
  -- Counted now: the current window's calls last one window more.
  return {n, remaining, 0, left + window + lag}
end
return {0, remaining, retry + lag, reset}
