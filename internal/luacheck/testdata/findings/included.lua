-- helper is defined by an included file (Config.Globals).
local v = helper(KEYS[1])
local w = other(KEYS[1])
return { v, w }
