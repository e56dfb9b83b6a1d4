-- ARGV values are strings.
local limit = ARGV[1]
local count = redis.call("INCR", KEYS[1])
if count > limit then return 0 end
if ARGV[2] >= 10 then return 0 end
local next = ARGV[3] + 1
local neg = -ARGV[4]
if ARGV[5] == 1 then return 0 end
if ARGV[5] < ARGV[6] then return 0 end

-- Fine.
local n = tonumber(ARGV[1])
if n > 5 and tonumber(ARGV[2]) >= 10 then return 1 end
if ARGV[7] == "yes" or ARGV[8] > "m" then return 1 end
local m = ARGV[9]
m = tonumber(m)
return m * 2 + #ARGV + next + neg
