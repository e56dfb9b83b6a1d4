-- Generic cell rate algorithm (GCRA), as go-redis/redis_rate runs it: rate
-- calls per period, in bursts of up to burst calls, timed by the server's
-- clock. The state is one time, the theoretical arrival time (TAT): how far
-- ahead of now the calls admitted so far reach, each counting one emission
-- interval, period / rate. A request for n calls is admitted when the TAT
-- plus n intervals is at most burst intervals ahead of now.
--
-- The arithmetic is exact. Time is whole microseconds, but an emission
-- interval is rarely a whole number of them (a second / 3), so the TAT is
-- kept as microseconds plus a remainder in units of 1/rate microsecond,
-- and every comparison is made in those units: there, an interval is
-- period units and the burst is burst * period units. The caller keeps
-- 2 * burst * period below 2^53, so every sum is an exact integer in Lua's
-- doubles, and so is every quotient floored below (a quotient of integers
-- below 2^53 is rounded by less than its distance to the next integer).
-- @key tat      a string, "<microseconds>" or "<microseconds> <remainder>
--               <rate>" (the remainder, when not 0, in units of 1/rate µs,
--               with the rate that wrote it): the
--               TAT; it expires between 0.1 s and 0.2 s after the TAT
--               (see the end), the key being back to a full burst from the
--               TAT on
-- @arg rate     calls per period (1 <= rate)
-- @arg period   the period, in microseconds
-- @arg burst    the most calls admitted at once (1 <= burst)
-- @arg n        calls this request asks for (0 <= n <= burst); 0 only
--               reads the state
-- @arg atmost   1 to admit as many of the n calls as fit (at least one),
--               0 to admit all n or none
-- @return {admitted, remaining, retry_after, reset_after}, durations in
--         microseconds: admitted is the number of calls admitted (0 when
--         refused, and for n = 0; nothing is written then); remaining is
--         the calls that would be admitted now, after these; retry_after
--         is 0 unless refused, else the time until the request (one call
--         with atmost) would be admitted; reset_after is the time until
--         the TAT is reached and remaining is back to burst

local key = KEYS[1]
local rate = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local atmost = ARGV[5] == '1'

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

-- The most the TAT may be ahead of now, in units of 1/rate microsecond.
local cap = burst * period

-- How far the TAT is ahead of now: 0 when it is past. A TAT more than a
-- burst ahead (a clock stepped back, a limit with a larger burst or a
-- longer interval sharing the key) admits nothing, but the waits must still
-- run to it: `ahead` then keeps only the burst's whole microseconds of the
-- distance, which stays exact, and `extra`, the microseconds beyond, is
-- added to every wait. With a whole number of microseconds per interval the
-- remainder is always 0 and the state a plain number.
local ahead, extra = 0, 0
local cell -- the expiry cell of the stored TAT, see the end
local state = redis.call('GET', key)
if state then
  local us, rem = tonumber(state), 0
  if not us then
    local a, b, c = string.match(state, '^(%d+) (%d+) ?(%d*)$')
    us, rem = tonumber(a), tonumber(b)
    local wrate = tonumber(c) -- nil in the form without it, of an earlier version
    if us and rem and wrate ~= rate then
      -- Written under another rate, sharing the key: the remainder is in
      -- units of 1/wrate µs. Rounded up to this rate's units it gives the
      -- same results as the exact time (every result is a floor or a
      -- ceiling of a quotient by an integer); when the product is too
      -- large to be exact, or the rate unknown, the TAT is rounded up to
      -- the microsecond instead, later by less than one: never more
      -- admitted.
      if wrate and wrate > 0 and rem * rate + wrate < 9007199254740992 then
        rem = math.floor((rem * rate + wrate - 1) / wrate)
      else
        us, rem = us + 1, 0
      end
    end
  end
  -- A time past 2^53 µs (about the year 2255) is none the script could
  -- have written, and would not be exact: unreadable, like a state of
  -- another form, it counts as none.
  if us and rem and us < 9007199254740992 and rem < 9007199254740992 then
    if rem > 0 then
      cell = math.floor((us + 1) / 100000)
    else
      cell = math.floor(us / 100000)
    end
  else
    us = nil
  end
  if us and us >= now then
    local d = us - now
    local most = math.floor(cap / rate) -- whole microseconds of a burst
    if d > most then
      extra = d - most
      d = most
    end
    ahead = d * rate + rem
  end
end

-- The calls that fit now: none when the TAT is past a burst ahead.
local fit = 0
if extra == 0 and ahead < cap then
  fit = math.floor((cap - ahead) / period)
end
-- Durations in microseconds, rounded up: ceil(x / rate) is
-- floor((x + rate - 1) / rate), for x > -rate too.
local reset = extra + math.floor((ahead + rate - 1) / rate)
if n == 0 then
  return {0, fit, 0, reset}
end
local take = n
if atmost and fit < take then
  take = fit
end
if take < 1 or take > fit then
  -- Refused, nothing written: `need` calls fit once the TAT is within
  -- cap - need * period of now.
  local need = n
  if atmost then
    need = 1
  end
  return {0, fit, extra + math.floor((ahead + need * period - cap + rate - 1) / rate), reset}
end

ahead = ahead + take * period
local q = math.floor(ahead / rate)
local rem = ahead - q * rate
reset = q
local tat = string.format('%d', now + q)
if rem > 0 then
  reset = q + 1
  tat = tat .. ' ' .. string.format('%d', rem) .. ' ' .. string.format('%d', rate)
end
-- The key must live until the TAT, now + reset. Setting an expiry costs
-- the server more than the rest of the SET, so expiries are on a grid of
-- 0.1 s: a TAT in cell c (floor(TAT / 0.1 s)) gets the key expiring at
-- the start of cell c + 2, between 0.1 s and 0.2 s after it. A write whose
-- TAT is in the same cell as the stored one keeps the expiry set for that
-- cell (KEEPTTL): it is after the new TAT too. The grid does not depend on
-- the limit, so limiters of different rates sharing a key agree on it.
-- The expiry is given relative to now (Redis's clock and TIME's are one,
-- to within the millisecond that PX rounds to, far inside the cell's
-- margin).
local c = math.floor((now + reset) / 100000)
if c == cell then
  redis.call('SET', key, tat, 'KEEPTTL')
else
  redis.call('SET', key, tat, 'PX', math.ceil(((c + 2) * 100000 - now) / 1000))
end
return {take, fit - take, 0, reset}
