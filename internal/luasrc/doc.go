// Package luasrc reads a Redis Lua script's source before it is sent: the
// Redis 7 shebang line and its flags, the leading header comment (@key,
// @arg, @return, @readonly), and @include expansion with a map from each
// line of the expanded text back to its file and line. Parsing the Lua
// itself, and the static checks, are internal/luacheck's.
//
// Nothing here talks to Redis, and the only I/O is reading an fs.FS
// (ReadFile, Expand): regular files only, never past a limit. Line numbers
// count lines as Lua does ("\n", "\r", "\r\n" and "\n\r" each end one)
// and always count the shebang line, as Redis does when it reports an error.
package luasrc
