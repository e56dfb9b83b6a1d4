-- Moves an amount from one integer balance to another, exactly for every
-- int64 value; with KEYS[3], at most once per transfer ID.
-- KEYS[1] balance to debit; a missing balance counts as 0
-- KEYS[2] balance to credit; a missing balance counts as 0
-- KEYS[3] optional: the transfer ID's record. When it holds this
--         transfer's parameters the transfer was applied already and
--         nothing moves; it is written with the move.
-- ARGV[1] the amount, a positive int64 in decimal
-- ARGV[2] 9223372036854775807 minus the amount, in decimal: the most
--         KEYS[2] may hold before the credit
-- ARGV[3] with KEYS[3]: the record's time to live in milliseconds
-- Returns {status, from, to}: the balances after the call as decimal
-- strings, and status one of
--   applied       the amount moved
--   already       KEYS[3] shows this transfer was applied; nothing moved
--   reused        KEYS[3] records a transfer with other keys or amount
--                 (balances not returned)
--   insufficient  KEYS[1] holds less than the amount
--   overflow      KEYS[2] plus the amount would exceed the int64 maximum
--   notint-from   KEYS[1] holds no integer Redis can add to (no balances)
--   notint-to     likewise KEYS[2] (no balances)
--
-- Lua numbers are doubles, exact only up to 2^53, so balances are never
-- turned into numbers: they are checked as decimal strings and changed by
-- DECRBY and INCRBY, which Redis computes in int64. An error after a write
-- would not undo that write, so every check comes before the first write,
-- and the checks leave DECRBY and INCRBY nothing to fail on.
local INT64_MAX = '9223372036854775807'
local INT64_MIN_DIGITS = '9223372036854775808'

-- Compares two strings of decimal digits without leading zeros.
local function cmpDigits(a, b)
  if #a ~= #b then
    return #a < #b and -1 or 1
  end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      return x < y and -1 or 1
    end
  end
  return 0
end

-- Reports whether s is an integer INCRBY accepts: "0", or an optional '-'
-- and digits without a leading zero, within int64. This is Redis's own
-- rule (string2ll), so DECRBY and INCRBY cannot refuse a balance it passes.
local function isInt64(s)
  if s == '0' then
    return true
  end
  local neg = string.sub(s, 1, 1) == '-'
  local digits = neg and string.sub(s, 2) or s
  if not string.find(digits, '^[1-9][0-9]*$') then
    return false
  end
  return cmpDigits(digits, neg and INT64_MIN_DIGITS or INT64_MAX) <= 0
end

-- Compares two strings that isInt64 accepts.
local function cmp(a, b)
  local aneg, bneg = string.sub(a, 1, 1) == '-', string.sub(b, 1, 1) == '-'
  if aneg ~= bneg then
    return aneg and -1 or 1
  end
  if aneg then
    return cmpDigits(string.sub(b, 2), string.sub(a, 2))
  end
  return cmpDigits(a, b)
end

local amount, headroom = ARGV[1], ARGV[2]
if not isInt64(amount) or not isInt64(headroom) or cmp(amount, '0') <= 0 then
  return redis.error_reply('ERR transfer amount must be a positive integer')
end

local from = redis.call('GET', KEYS[1]) or '0'
local to = redis.call('GET', KEYS[2]) or '0'

local record
if KEYS[3] then
  -- The amount is digits only and the debited key's length is given, so
  -- no two transfers share a record value.
  record = amount .. ':' .. string.len(KEYS[1]) .. ':' .. KEYS[1] .. KEYS[2]
  local seen = redis.call('GET', KEYS[3])
  if seen == record then
    return {'already', from, to}
  elseif seen then
    return {'reused'}
  end
end

if not isInt64(from) then
  return {'notint-from'}
end
if not isInt64(to) then
  return {'notint-to'}
end
if cmp(from, amount) < 0 then
  return {'insufficient', from, to}
end
if cmp(to, headroom) > 0 then
  return {'overflow', from, to}
end

-- From here on nothing can fail: from >= amount > 0 cannot underflow, and
-- to <= headroom cannot overflow.
redis.call('DECRBY', KEYS[1], amount)
redis.call('INCRBY', KEYS[2], amount)
if record then
  redis.call('SET', KEYS[3], record, 'PX', ARGV[3])
end
return {'applied', redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}
