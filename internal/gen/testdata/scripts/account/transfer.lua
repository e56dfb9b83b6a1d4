-- Moves an amount between two integer balances, refusing to overdraw.
-- @key from  balance to debit
-- @key to    balance to credit
-- @arg amount int64  positive integer
-- @return int64  the debited balance after the move
--- @include "../lib/toint"
local amount = toint(ARGV[1])
local from = toint(redis.call('GET', KEYS[1]) or '0')
if from < amount then
  return redis.error_reply('INSUFFICIENT balance ' .. from .. ' is below ' .. amount)
end
redis.call('INCRBY', KEYS[2], amount)
return redis.call('DECRBY', KEYS[1], amount)
