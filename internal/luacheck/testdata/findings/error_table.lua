-- error() with a table: Redis 7.0.15 crashes (SIGSEGV) unless the table's
-- err field is a string or a number.
local function fail(code, msg)
  error({err = code .. ' ' .. msg}) -- fine: a concatenation
end

if ARGV[1] == 'a' then error({}) end
if ARGV[1] == 'b' then error({ message = 'no err field' }) end
if ARGV[1] == 'c' then error({err = {}}) end
if ARGV[1] == 'd' then error({err = nil}) end
if ARGV[1] == 'e' then error(setmetatable({}, {__tostring = function() return 'x' end})) end
if ARGV[1] == 'f' then error(KEYS) end
if ARGV[1] == 'g' then error(redis.status_reply('OK')) end
if ARGV[1] == 'h' then error({err = true}) end

-- Fine: what Redis turns into an error reply.
if ARGV[1] == 'i' then error({err = 'WRONGTYPE not a counter'}) end
if ARGV[1] == 'j' then error({err = 42}) end
if ARGV[1] == 'k' then error(redis.error_reply('ERR bad input')) end
if ARGV[1] == 'l' then error('plain message') end
if ARGV[1] == 'm' then error(setmetatable({err = 'E x'}, {})) end
if ARGV[1] == 'n' then error(setmetatable({}, {__index = {err = 'E x'}})) end
if ARGV[1] == 'o' then error({err = string.format('E %s', ARGV[2])}) end
if ARGV[1] == 'p' then error({err = tostring(ARGV[2])}) end
local ok, caught = pcall(redis.call, 'INCR', KEYS[1])
if not ok then error(caught) end -- a caught error: a string on Redis 7.0
fail('E', 'x')
if ARGV[1] == 'q' then error({err = caught}) end -- not known to be a string
