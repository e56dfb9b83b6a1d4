-- Globals: Redis 7 scripts cannot create them and only have a sandbox.
count = 0
function increment(n)
  count = count + n
end

local helpers = {}
function helpers.double(n) return n * 2 end -- a field of a local table: fine

function string.trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

_G.cache = {}
redis.my_flag = true

print("debug: " .. tostring(KEYS[1]))
local json = require("cjson")
local total = increment(tonumbr(ARGV[1]))

local values = { redis.call("MGET", KEYS[1], KEYS[2]) }
return table.unpack(values)
