// Package luasrc reads a Redis Lua script's source before it is sent: the
// Redis 7 shebang line and its flags, the leading header comment, and a
// Lua 5.1 parse that reports syntax errors with their line.
//
// Everything here is pure: no I/O, no Redis. Line numbers always count the
// shebang line, as Redis does when it reports an error.
package luasrc
