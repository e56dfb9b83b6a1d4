// Package luacheck finds bugs in Redis Lua scripts before Redis does.
//
// Check parses a script as Redis 7 runs it (Lua 5.1) with gopher-lua's parser
// and walks the syntax tree with proper lexical scoping. It reports two kinds
// of findings:
//
//   - errors, for code that Redis refuses when the line runs: creating or
//     assigning a global variable (the globals table is read-only, rawset
//     included), reading a global the sandbox does not have (print, require,
//     io, os, ...), a library function that does not exist (table.unpack), a
//     command scripts may not call (MULTI, BLPOP, EVAL, XREAD with BLOCK), a
//     literal command with the wrong number of arguments, or error() with a
//     table that crashes the server;
//   - warnings, for code that runs but is fragile: a key not passed in KEYS
//     (breaks Redis Cluster and ACL key patterns), KEYS[n] beyond the keys
//     the script declares, a write in a read-only script, commands that block
//     the server (KEYS, FLUSHALL), an unknown command name, arithmetic or
//     numeric comparison on an ARGV string without tonumber, and a number
//     from Redis (an INCR counter) passed to cjson.encode, which keeps 14
//     significant digits.
//
// Each finding carries a stable ID (the ID* constants). A comment
//
//	-- redislua:ignore key-not-from-KEYS
//
// at the end of a line, or alone on the line before it, silences the listed
// IDs for that line (and for the rest of a statement that starts there).
// Several IDs are separated by commas or spaces; a directive without IDs
// silences every finding of the line.
//
// The checks favour silence over noise: a value whose origin the checker
// cannot see (a function result, a table field, a function parameter) is
// trusted. The reference is Redis 7.0: what it refuses to compile (Lua
// 5.1's limits of 200 nesting levels, 200 locals and 60 upvalues per
// function) is a *SyntaxError, and what it lacks (os, setfenv) an error.
package luacheck
