// Package redislua runs Redis Lua scripts from Go, on top of go-redis v9.
//
// Scripts live in .lua files embedded with go:embed. A Registry reads them
// once, when the program starts: it checks that each compiles and passes
// static checks against what Redis 7 refuses when a line runs (a syntax
// error or a misspelt variable stops the program there, not a request in
// production), reads its header of declared keys and arguments and its
// shebang flags, and computes its SHA1. Scripts are named by their path in
// the fs.FS passed, without ".lua":
//
//	//go:embed lua
//	var files embed.FS
//
//	scripts, err := fs.Sub(files, "lua") // lua/hit.lua is the script "hit"
//	reg, err := redislua.NewRegistry(scripts, nil)
//	n, err := reg.Run(ctx, rdb, "hit", []string{"hello:hits"}, 60).Int64()
//
// # Running
//
// Run sends EVALSHA. If the server answers NOSCRIPT (after a restart, a
// failover or SCRIPT FLUSH), which proves the script did not run, Run sends
// it once with EVAL, which also caches it again. No other error causes a
// second send, by Run or by go-redis under it, so a script whose outcome is
// unknown is never run twice. Calls are checked before anything is sent:
// the declared counts of keys and arguments, and on a *redis.ClusterClient
// (or with RegistryOptions.ClusterChecks on any client) that the keys share
// a hash slot. Inside a pipeline or transaction Run queues a plain EVAL;
// OptimizePipelines makes each server's share of a pipeline load a script
// once and call it with EVALSHA.
//
// # Errors
//
// Errors raised while a script runs come back as *ScriptError, whose
// message names the file and line ("redislua: hit.lua:5: ...") instead of
// Redis's "user_script:5". errors.Is matches ErrOOM, ErrBusy, ErrReadOnly,
// ErrNoPerm and the other sentinel errors; Unwrap returns the server's
// error. Replies a script returns on purpose with redis.error_reply pass
// through untouched, and redis.Nil stays redis.Nil.
//
// # Options
//
// Every constructor of the module takes an option struct, as go-redis does
// (redis.Options): the fields are documented in one place, the zero value
// of each is its default, a nil pointer means every default, and the
// constructor checks them all before it returns.
//
// # More
//
// The packages lock, ratelimit, transfer and cas are prebuilt primitives
// built on this package's public API, and package lua holds their scripts
// as an fs.FS. The guides, on pipelines, Redis Cluster, failover, errors,
// static checks, testing and the redislua command, are in the docs
// directory of the repository: https://github.com/redislua/redislua/tree/main/docs
package redislua
