package luacheck

// scriptGlobals are the globals a Redis 7 script can read: the globals table
// of Redis 7.0.15 (checked with pairs(_G)). os, getfenv, setfenv and
// newproxy are not in it: reading them fails there.
var scriptGlobals = map[string]bool{
	// Redis API and libraries.
	"redis": true, "KEYS": true, "ARGV": true, "cjson": true, "cmsgpack": true,
	"bit": true, "struct": true, "__redis__err__handler": true,
	// Lua 5.1 standard library as Redis loads it.
	"string": true, "table": true, "math": true, "coroutine": true,
	"assert": true, "collectgarbage": true, "error": true, "gcinfo": true,
	"getmetatable": true, "ipairs": true, "load": true, "loadstring": true,
	"next": true, "pairs": true, "pcall": true, "rawequal": true, "rawget": true,
	"rawset": true, "select": true, "setmetatable": true, "tonumber": true,
	"tostring": true, "type": true, "unpack": true, "xpcall": true,
	"_G": true, "_VERSION": true,
}

// writableGlobals are script globals whose tables a script may modify: Redis
// sets KEYS and ARGV per call as plain tables.
var writableGlobals = map[string]bool{"KEYS": true, "ARGV": true}

// missingGlobalHints explains standard Lua globals that Redis scripts do not
// have, with what to use instead.
var missingGlobalHints = map[string]string{
	"print":    `"print" is not available in Redis scripts; use redis.log(redis.LOG_NOTICE, ...)`,
	"require":  `"require" is not available in Redis scripts; inline the code or load it as a Redis function library`,
	"dofile":   `"dofile" is not available in Redis scripts; inline the code`,
	"loadfile": `"loadfile" is not available in Redis scripts; inline the code`,
	"module":   `"module" is not available in Redis scripts; use local tables`,
	"io":       `"io" is not available in Redis scripts; return data to the caller instead`,
	"package":  `"package" is not available in Redis scripts; inline the code`,
	"debug":    `"debug" is not available in Redis scripts; use redis.log or redis.breakpoint`,
	"os":       `"os" is not available in Redis 7.0 scripts; use redis.call('TIME') for the time`,
	"getfenv":  `"getfenv" is not available in Redis 7 scripts; pass values as parameters`,
	"setfenv":  `"setfenv" is not available in Redis 7 scripts; pass values as parameters`,
	"newproxy": `"newproxy" is not available in Redis 7 scripts; use a table with a metatable`,
}

// libraryMembers lists the fields of the Lua 5.1 libraries whose contents do
// not change between Redis releases (pairs over each table on Redis 7.0.15).
// The redis and os tables grow across releases and are not checked.
var libraryMembers = map[string]map[string]bool{
	"string": set("byte", "char", "dump", "find", "format", "gfind", "gmatch",
		"gsub", "len", "lower", "match", "rep", "reverse", "sub", "upper"),
	"table": set("concat", "foreach", "foreachi", "getn", "insert", "maxn",
		"remove", "setn", "sort"),
	"math": set("abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "cosh",
		"deg", "exp", "floor", "fmod", "frexp", "huge", "ldexp", "log", "log10",
		"max", "min", "mod", "modf", "pi", "pow", "rad", "random", "randomseed",
		"sin", "sinh", "sqrt", "tan", "tanh"),
	"coroutine": set("create", "resume", "running", "status", "wrap", "yield"),
	"bit": set("arshift", "band", "bnot", "bor", "bswap", "bxor", "lshift",
		"rol", "ror", "rshift", "tobit", "tohex"),
	"struct": set("pack", "size", "unpack"),
	"cjson": set("_NAME", "_VERSION", "decode", "decode_invalid_numbers",
		"decode_max_depth", "encode", "encode_invalid_numbers",
		"encode_keep_buffer", "encode_max_depth", "encode_number_precision",
		"encode_sparse_array", "new", "null"),
	"cmsgpack": set("_COPYRIGHT", "_DESCRIPTION", "_NAME", "_VERSION", "pack",
		"unpack", "unpack_limit", "unpack_one"),
}

// memberHints suggests the Lua 5.1 spelling of functions from later Lua
// versions or other languages.
var memberHints = map[string]string{
	"table.unpack":   "use unpack",
	"table.pack":     "use {...} and select('#', ...)",
	"string.split":   "use string.gmatch",
	"math.tointeger": "use math.floor",
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
