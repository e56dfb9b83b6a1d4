package luacheck

import "strings"

// Finding IDs. They are stable: scripts name them in ignore comments.
const (
	// IDGlobalWrite reports an assignment to a global variable, including a
	// global function declaration (function foo() end) and a field assigned
	// on a Redis-provided table (function string.trim() end), and rawset or
	// setmetatable on one (rawset(_G, "x", 1)). Redis 7 makes the globals
	// read-only, so the line fails with "Attempt to modify a readonly
	// table". Severity: Error.
	IDGlobalWrite = "global-write"

	// IDUndefinedGlobal reports a read of a global that Redis scripts do not
	// have, such as print, require or a misspelt local. Redis fails with
	// "Script attempted to access nonexistent global variable". Severity: Error.
	IDUndefinedGlobal = "undefined-global"

	// IDUndefinedField reports a function of a Lua 5.1 library that does not
	// exist, such as table.unpack or string.split; the value is nil and
	// calling it fails. Severity: Error.
	IDUndefinedField = "undefined-field"

	// IDCommandNotAllowed reports redis.call of a command that scripts may not
	// call (MULTI, EXEC, EVAL, BLPOP, SUBSCRIBE, ...), or XREAD and
	// XREADGROUP with a literal BLOCK option. Severity: Error.
	IDCommandNotAllowed = "command-not-allowed"

	// IDWrongArity reports redis.call of a literal command with a number of
	// arguments Redis rejects ("Wrong number of args"). Calls whose last
	// argument expands to several values are only checked for too many
	// arguments. Severity: Error.
	IDWrongArity = "wrong-arity"

	// IDKeyNotFromKEYS reports a key argument of redis.call or redis.pcall that
	// is a string literal, a string built in the script (concatenation,
	// string.format) or a value of ARGV, instead of an element of KEYS.
	// Severity: Warning.
	IDKeyNotFromKEYS = "key-not-from-KEYS"

	// IDKeysIndex reports KEYS[n] with a literal n below 1, not an integer, or
	// above the number of keys the script declares. Severity: Warning.
	IDKeysIndex = "keys-index"

	// IDWriteInReadonly reports a write command (or one Redis refuses in
	// read-only scripts, such as PUBLISH) in a script flagged no-writes.
	// Severity: Warning.
	IDWriteInReadonly = "write-in-readonly"

	// IDBlockingCommand reports KEYS, FLUSHALL and FLUSHDB, which block the
	// server for as long as they take on large data. Severity: Warning.
	IDBlockingCommand = "blocking-command"

	// IDUnknownCommand reports redis.call of a literal command name that Redis
	// 7.0 does not have. Module commands (a dot in the name, like JSON.SET)
	// and commands added after 7.0 are not reported. Severity: Warning.
	IDUnknownCommand = "unknown-command"

	// IDArgvArith reports arithmetic, unary minus or an ordering comparison on
	// ARGV[n] (or a local holding it) without tonumber, and an equality test
	// of such a value against a number, which is always false.
	// Severity: Warning.
	IDArgvArith = "argv-arith"

	// IDServerErrorCode reports an error reply built by the script
	// (redis.error_reply(s), {err = s}) that starts with an error code of
	// the server's own refusals, such as MOVED, READONLY or NOSCRIPT:
	// clients take it for that refusal and send the script again, or to
	// another node, although it ran. Severity: Warning.
	IDServerErrorCode = "server-error-code"

	// IDCJSONNumber reports a number from Redis passed to cjson.encode, on
	// its own or in a table: the reply of INCR, INCRBY, DECR, DECRBY or
	// HINCRBY, tonumber of a reply, and sums and products of those. cjson
	// keeps 14 significant digits, so integers above 1e14 come out
	// rounded. Severity: Warning.
	IDCJSONNumber = "cjson-number"
)

// severities gives the severity of every finding ID; it is also the list of
// IDs that ignore comments accept.
var severities = map[string]Severity{
	IDGlobalWrite:       Error,
	IDRegisterFunction:  Error,
	IDUndefinedGlobal:   Error,
	IDUndefinedField:    Error,
	IDCommandNotAllowed: Error,
	IDWrongArity:        Error,
	IDKeyNotFromKEYS:    Warning,
	IDKeysIndex:         Warning,
	IDWriteInReadonly:   Warning,
	IDBlockingCommand:   Warning,
	IDUnknownCommand:    Warning,
	IDArgvArith:         Warning,
	IDServerErrorCode:   Warning,
	IDCJSONNumber:       Warning,
}

// canonicalID returns the ID spelt as the constants spell it, matching s
// case-insensitively, and whether s names an ID at all.
func canonicalID(s string) (string, bool) {
	for id := range severities {
		if strings.EqualFold(id, s) {
			return id, true
		}
	}
	return "", false
}
