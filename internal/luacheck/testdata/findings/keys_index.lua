-- KEYS indexes, with 2 keys declared.
local a = KEYS[1]
local b = KEYS[2]
local c = KEYS[3]
local zero = KEYS[0]
local neg = KEYS[-1]
local half = KEYS[1.5]
local named = KEYS.first
local i = 1
local dynamic = KEYS[i]
local last = KEYS[#KEYS]
return { a, b, c, zero, neg, half, named, dynamic, last }
