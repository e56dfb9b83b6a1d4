-- Error replies that clients take for the server's own refusals.
local n = redis.call('INCR', KEYS[1])
if n > 10 then
  return redis.error_reply('READONLY doc locked')
end
if n > 20 then
  return redis.error_reply('MOVED ' .. n .. ' 10.0.0.1:6379')
end
if n > 30 then
  return {err = 'NOSCRIPT gone'}
end
if n > 40 then
  error({err = 'BUSY try later'})
end
if n > 50 then
  return redis.error_reply('ERR NOSCRIPT ' .. ARGV[1])
end
if n > 55 then
  return redis.error_reply('ERR Function not found')
end
-- Codes of the script's own: fine.
if n > 60 then
  return redis.error_reply('ERR invalid quantity ' .. ARGV[1])
end
if n > 70 then
  return redis.error_reply('LOCKED by ' .. ARGV[1])
end
if n > 80 then
  return {err = 'ASKED already'}
end
return redis.error_reply(ARGV[1])
