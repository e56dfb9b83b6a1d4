// Package redislua runs Redis Lua scripts from Go, on top of go-redis v9.
//
// Scripts live in .lua files embedded with go:embed. A Registry reads them
// once at start-up: it checks each compiles (a syntax error stops the
// program at start, not the first request in production), reads its Redis 7
// shebang flags, and computes its SHA1.
//
//	//go:embed lua/*.lua
//	var luaFS embed.FS
//
//	reg, err := redislua.NewRegistry(luaFS)
//	n, err := reg.Run(ctx, rdb, "transfer", []string{"{u1}:a", "{u1}:b"}, 50).Int64()
//
// # How a script runs
//
// Script.Run sends EVALSHA. If the server answers NOSCRIPT (after a
// restart, a failover or SCRIPT FLUSH), which proves the script did not
// run, Run sends it once with EVAL, which also caches it again. No other
// error causes a second send, so a script whose outcome is unknown is never
// run twice. Read-only scripts, declared with "#!lua flags=no-writes" or a
// "-- @readonly" header line, use EVALSHA_RO and EVAL_RO. Inside a pipeline
// or transaction Run queues a plain EVAL, since a NOSCRIPT in the middle of
// a pipeline cannot be recovered without reordering it.
//
// # Errors
//
// Errors raised while a script runs come back as *ScriptError, whose
// message names the file and line ("redislua: lua/transfer.lua:3: ...")
// instead of Redis's "user_script:3". errors.Is matches ErrOOM, ErrBusy,
// ErrReadOnly, ErrNoPerm; Unwrap returns the server's error. Errors a
// script returns on purpose with redis.error_reply pass through untouched,
// and redis.Nil stays redis.Nil; Script.Run lists the error codes such a
// reply must not start with.
//
// # Where things are
//
// script.go holds Script and the reading of its source; run.go checks a
// call and handles NOSCRIPT; command.go builds the EVAL commands;
// registry.go holds Registry and options.go its options; cluster.go
// computes slots and loads every node; cluster_guard.go keeps a script's
// replies from redirecting a ClusterClient; lint.go runs the static checks;
// errors.go holds the error types and errmap.go maps Redis error replies
// onto them; pipeline.go is the OptimizePipelines hook on a server's
// client and pipeline_cluster.go puts it on the nodes of a ClusterClient
// or Ring; prebuilt.go embeds
// the library's own scripts (lua/), whose typed wrappers are cas.go,
// transfer.go, lock.go (with lock_wait.go, lock_deadline.go,
// lock_refresh.go, lock_watchdog.go, retry.go) and ratelimit.go (with
// ratelimit_options.go).
// internal/luasrc reads sources (shebang, header, @include),
// internal/luacheck parses Lua and runs the static checks,
// internal/rediserr reads error replies, internal/hashslot computes cluster
// slots, and internal/redistest starts real redis-server processes and
// clusters for the tests. cmd/redislua is the command-line tool.
package redislua
