-- Compare-and-delete: deletes a key only if it holds the expected value.
-- A missing key never matches. Values are compared byte for byte.
-- @key key        the key
-- @arg expected   the expected value
-- @return 1 when the key was deleted, 0 when it held something else or
--         was missing
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
