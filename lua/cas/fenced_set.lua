-- Fenced write, the storage side of fencing tokens: sets a key only if the
-- caller's fence is at least the highest fence accepted for that key, so a
-- client that paused past its lock's expiry cannot overwrite what a later
-- lock holder wrote. An equal fence is accepted: the same holder may write
-- again.
-- KEYS[1] the key
-- KEYS[2] the highest fence accepted for KEYS[1] (a decimal integer)
-- ARGV[1] the value
-- ARGV[2] the fence, an int64 in decimal
-- Returns 1 when written, 0 when the fence is below the highest seen, -1
-- when KEYS[2] holds something other than an integer (nothing written).
-- Both keys keep their TTL, if any.
--
-- Fences may exceed 2^53, beyond which Lua numbers (doubles) are not
-- exact, so they are compared as decimal strings.
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

-- Reports whether s is an int64 written as Redis writes one: "0", or an
-- optional '-' and digits without a leading zero.
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

local highest = redis.call('GET', KEYS[2])
if highest then
  if not isInt64(highest) then
    return -1
  end
  if cmp(ARGV[2], highest) < 0 then
    return 0
  end
end
redis.call('SET', KEYS[2], ARGV[2], 'KEEPTTL')
redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
return 1
