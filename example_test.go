package redislua_test

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"testing/fstest"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// quickstart holds the quick start's scripts, under
// examples/quickstart/lua/: balance.lua, incr.lua and transfer.lua.
//
//go:embed examples/quickstart/lua
var quickstart embed.FS

// A registry reads every embedded .lua file once and runs scripts by name.
func Example() {
	ctx := context.Background()
	srv, err := miniredis.Run() // an in-memory Redis; or dial yours
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	scripts, err := fs.Sub(quickstart, "examples/quickstart/lua")
	if err != nil {
		panic(err)
	}
	reg, err := redislua.NewRegistry(scripts, nil)
	if err != nil {
		panic(err)
	}
	rdb.Set(ctx, "{u1}:a", 100, 0)
	left, err := reg.Run(ctx, rdb, "transfer", []string{"{u1}:a", "{u1}:b"}, 30).Int64()
	fmt.Println(left, err)

	err = reg.Run(ctx, rdb, "transfer", []string{"{u1}:a", "{u1}:b"}, 500).Err()
	fmt.Println(err)
	// Output:
	// 70 <nil>
	// INSUFFICIENT balance 70 is below 500
}

// A script is named by its path in the fs.FS given, without ".lua".
// fs.Sub picks the directory names start from, so adding another
// directory to the embed renames nothing.
func ExampleNewRegistry() {
	scripts, err := fs.Sub(quickstart, "examples/quickstart/lua")
	if err != nil {
		panic(err)
	}
	reg, err := redislua.NewRegistry(scripts, nil)
	if err != nil {
		panic(err)
	}
	for _, s := range reg.Scripts() {
		fmt.Println(s.Name(), s.File(), s.ReadOnly())
	}

	whole, err := redislua.NewRegistry(quickstart, nil) // without fs.Sub
	if err != nil {
		panic(err)
	}
	fmt.Println(whole.Scripts()[0].Name())
	// Output:
	// balance balance.lua true
	// incr incr.lua false
	// transfer transfer.lua false
	// examples/quickstart/lua/balance
}

// A script with a syntax error is refused when the program starts.
func ExampleNewRegistry_syntaxError() {
	bad := fstest.MapFS{"lua/counter.lua": {Data: []byte("local n = 1\nreturn n +\n")}}
	_, err := redislua.NewRegistry(bad, nil)
	fmt.Println(err)
	fmt.Println(errors.Is(err, redislua.ErrSyntax))
	// Output:
	// redislua: lua/counter.lua:2:10: syntax error at end of script
	// true
}

// Run sends EVALSHA and, when the server lost its script cache, EVAL once.
func ExampleScript_Run() {
	ctx := context.Background()
	srv, err := miniredis.Run() // an in-memory Redis; or dial yours
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	incr := redislua.MustNewScript("incr", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
	rdb.ScriptFlush(ctx) // as after a restart or failover
	n, err := incr.Run(ctx, rdb, []string{"hits"}, 5).Int64()
	fmt.Println(n, err)
	cached, _ := incr.Exists(ctx, rdb)
	fmt.Println("cached again:", cached)
	// Output:
	// 5 <nil>
	// cached again: true
}

// In a pipeline Run queues plain EVAL, so a flushed cache cannot break it.
// Errors of queued commands go through MapError after Exec.
func ExampleScript_Run_pipeline() {
	ctx := context.Background()
	srv, err := miniredis.Run() // an in-memory Redis; or dial yours
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	incr := redislua.MustNewScript("incr", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
	pipe := rdb.Pipeline()
	a := incr.Run(ctx, pipe, []string{"a"}, 1)
	b := incr.Run(ctx, pipe, []string{"b"}, 2)
	if _, err := pipe.Exec(ctx); err != nil {
		fmt.Println(incr.MapError(err))
	}
	fmt.Println(a.Val(), b.Val())
	// Output:
	// 1 2
}

// A "-- @readonly" header line (or "#!lua flags=no-writes" on Redis 7)
// makes Run use EVALSHA_RO, which replicas accept and which refuses writes.
func ExampleScript_ReadOnly() {
	ctx := context.Background()
	srv, err := miniredis.Run() // an in-memory Redis; or dial yours
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	balance := redislua.MustNewScript("balance", "-- @readonly\nreturn tonumber(redis.call('GET', KEYS[1]) or '0')")
	rdb.Set(ctx, "{u1}:a", 42, 0)
	n, err := balance.Run(ctx, rdb, []string{"{u1}:a"}).Int64()
	fmt.Println(balance.ReadOnly(), n, err)
	// Output:
	// true 42 <nil>
}

// Errors raised while a script runs name the file and line.
func ExampleScriptError() {
	ctx := context.Background()
	srv, err := miniredis.Run() // an in-memory Redis; or dial yours
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	scripts, err := fs.Sub(quickstart, "examples/quickstart/lua")
	if err != nil {
		panic(err)
	}
	reg, err := redislua.NewRegistry(scripts, nil)
	if err != nil {
		panic(err)
	}
	rdb.Set(ctx, "visits", "many", 0)
	err = reg.Run(ctx, rdb, "incr", []string{"visits"}, 1).Err()
	fmt.Println(err)
	var se *redislua.ScriptError
	if errors.As(err, &se) {
		fmt.Println(se.Script, se.Line)
	}
	// Output:
	// redislua: incr.lua:6: value is not an integer or out of range
	// incr 6
}

// Code Redis would refuse at run time is refused when the program starts.
func ExampleCheckError() {
	reg, _ := redislua.NewRegistry(nil, nil)
	_, err := reg.Add("visits", "local n = redis.call('INCR', KEYS[1])\nreturn totl + n")
	fmt.Println(err)
	fmt.Println(errors.Is(err, redislua.ErrCheck))
	// Output:
	// redislua: visits:2:8: undefined-global undefined global "totl"; declare "local totl" before use or fix the name
	// true
}

// LoadAll warms the script cache at start-up in one round trip.
func ExampleRegistry_LoadAll() {
	ctx := context.Background()
	srv, err := miniredis.Run() // an in-memory Redis; or dial yours
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	scripts, err := fs.Sub(quickstart, "examples/quickstart/lua")
	if err != nil {
		panic(err)
	}
	reg, err := redislua.NewRegistry(scripts, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(reg.LoadAll(ctx, rdb))
	ok, _ := reg.MustScript("transfer").Exists(ctx, rdb)
	fmt.Println(ok)
	// Output:
	// <nil>
	// true
}

// An unknown name is an error that suggests close names.
func ExampleRegistry_Script() {
	reg, _ := redislua.NewRegistry(nil, nil)
	reg.Add("transfer", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
	_, err := reg.Script("transfr")
	fmt.Println(err)
	fmt.Println(errors.Is(err, redislua.ErrUnknownScript))
	// Output:
	// redislua: unknown script "transfr" (did you mean "transfer"?)
	// true
}

// OptimizePipelines, once per client, makes a pipeline send each script's
// source once: later calls of the same script become EVALSHA.
func ExampleOptimizePipelines() {
	ctx := context.Background()
	srv, err := miniredis.Run() // an in-memory Redis; or dial yours
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	if err := redislua.OptimizePipelines(rdb); err != nil {
		panic(err)
	}

	incr := redislua.MustNewScript("incr", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
	rdb.ScriptFlush(ctx)
	pipe := rdb.Pipeline()
	var cmds []*redis.Cmd
	for i := 0; i < 3; i++ {
		cmds = append(cmds, incr.Run(ctx, pipe, []string{"hits"}, 1))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		panic(err)
	}
	for _, cmd := range cmds {
		fmt.Println(cmd.Args()[0], cmd.Val())
	}
	// Output:
	// evalsha 1
	// evalsha 2
	// evalsha 3
}
