-- Charges an account.
-- @key account  integer balance
-- @arg amount   positive integer
-- @return the new balance
--- @include "lib/check"
check_amount(ARGV[1])
return redis.call('DECRBY', KEYS[1], ARGV[1])
