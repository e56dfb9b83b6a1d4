-- Exact int64 arithmetic on decimal strings, for scripts that must not turn
-- integers into Lua numbers (doubles, exact only up to 2^53). Included by
-- transfer.lua, cas/fenced_set.lua and lock/acquire.lua; defines INT64_MAX,
-- cmpDigits, isInt64 and cmp.
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
