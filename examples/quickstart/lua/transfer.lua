-- Moves an amount between two integer balances, refusing to overdraw.
-- KEYS[1] balance to debit, KEYS[2] balance to credit
-- ARGV[1] amount, a positive integer
-- Returns the debited balance after the move.
local amount = tonumber(ARGV[1])
local from = tonumber(redis.call('GET', KEYS[1]) or '0')
if from < amount then
  return redis.error_reply('INSUFFICIENT balance ' .. from .. ' is below ' .. amount)
end
redis.call('INCRBY', KEYS[2], amount)
return redis.call('DECRBY', KEYS[1], amount)
