-- Moves an amount from one integer balance to another, exactly for every
-- int64 value; with a record key, at most once per transfer ID.
--
-- Lua numbers are doubles, exact only up to 2^53, so balances are never
-- turned into numbers: they are checked as decimal strings and changed by
-- DECRBY and INCRBY, which Redis computes in int64. An error after a write
-- would not undo that write, so every check comes before the first write,
-- and the checks leave DECRBY and INCRBY nothing to fail on.
-- @key from       balance to debit; a missing balance counts as 0
-- @key to         balance to credit; a missing balance counts as 0
-- @key [record]   the transfer ID's record: when it holds this transfer's
--                 parameters the transfer was applied already and nothing
--                 moves; it is written with the move
-- @arg amount     the amount, a positive int64 in decimal
-- @arg headroom   9223372036854775807 minus the amount, in decimal: the most
--                 KEYS[2] may hold before the credit
-- @arg [ttl]      with a record key: the record's time to live in ms
-- @arg [touch]    with a record key: "touch" to write the record again when
--                 it shows the transfer applied already, so that a WAIT
--                 after this script covers it
-- @return {status, from, to}: the balances after the call as decimal
--         strings, and status one of applied, already (the record shows
--         this transfer was applied; nothing moved), reused (the record
--         holds another transfer; no balances), insufficient, overflow,
--         notint-from, notint-to (a balance is not an integer; no balances)
--- @include "../lib/int64"

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
    if ARGV[4] == 'touch' then
      -- Replication is in order: a replica that has this write has the
      -- transfer's too.
      redis.call('SET', KEYS[3], record, 'KEEPTTL')
    end
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
