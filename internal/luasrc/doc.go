// Package luasrc reads a Redis Lua script's source before it is sent: the
// Redis 7 shebang line and its flags, the leading header comment (@key,
// @arg, @return, @readonly), and @include expansion with a map from each
// line of the expanded text back to its file and line. Parsing the Lua
// itself, and the static checks, are internal/luacheck's.
//
// Everything here is pure: no I/O, no Redis. Line numbers always count the
// shebang line, as Redis does when it reports an error.
package luasrc
