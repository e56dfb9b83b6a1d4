// Command functions loads a Redis Functions library of two functions from
// lua/ and calls them by name: FCALL for the one that writes, FCALL_RO for
// the no-writes one.
//
// Functions need Redis 7 or later. It uses the Redis at REDIS_ADDR
// (host:port); without it, it starts an embedded miniredis, which has no
// Functions, and says so instead of calling them:
//
//	REDIS_ADDR=127.0.0.1:6379 go run ./examples/functions
//	go run ./examples/functions
//
// On a server of yours it writes only the key functions-example:visits,
// refuses to start when it exists already, and deletes it before it exits.
// The library example_visits stays loaded, as libraries do (they are
// persisted and replicated): redis-cli FUNCTION DELETE example_visits
// removes it. A server that holds another version of example_visits is
// left alone, and the program fails naming it.
package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"strings"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

//go:embed lua
var files embed.FS

// visitsKey is the one key the program writes, and deletes before it
// returns.
const visitsKey = "functions-example:visits"

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run loads the library and calls its functions, or says why the server
// cannot run them.
func run(ctx context.Context, out io.Writer) error {
	libs, err := fs.Sub(files, "lua")
	if err != nil {
		return err
	}
	// lua/visits.lua starts with "#!lua name=example_visits": a library,
	// read and checked here, without running it.
	reg, err := redislua.NewRegistry(libs, nil)
	if err != nil {
		return err
	}
	hit, err := reg.Function("example_visits_hit")
	if err != nil {
		return err
	}
	count, err := reg.Function("example_visits_count")
	if err != nil {
		return err
	}
	for _, l := range reg.Libraries() {
		var names []string
		for _, f := range l.Functions() {
			name := f.Name()
			if f.ReadOnly() {
				name += " [no-writes]" // called with FCALL_RO
			}
			names = append(names, name)
		}
		fmt.Fprintf(out, "library %s (%s): %s\n", l.Name(), l.File(), strings.Join(names, ", "))
	}

	rdb, where, closeAll, err := connect()
	if err != nil {
		return err
	}
	defer closeAll()
	fmt.Fprintln(out, "using", where)

	// Safe at every start-up: loads the library where it is missing, does
	// nothing where the server has the same code, and refuses other code.
	err = reg.LoadAll(ctx, rdb)
	if errors.Is(err, redislua.ErrFunctionsUnsupported) {
		fmt.Fprintln(out, "cannot call the functions: this server has no Redis Functions (they need Redis 7 or later; miniredis has none).")
		fmt.Fprintln(out, "Run it against Redis 7: REDIS_ADDR=127.0.0.1:6379 go run ./examples/functions")
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "library example_visits loaded (FUNCTION LOAD, skipped where the server has the same code)")

	// Never overwrite what is there: the key must be new, and goes at the end.
	if n, err := rdb.Exists(ctx, visitsKey).Result(); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("functions: %s holds the key %s already; delete it or use another server", where, visitsKey)
	}
	defer rdb.Del(context.WithoutCancel(ctx), visitsKey)

	for range 2 {
		// FCALL; should the server have lost the library (FUNCTION FLUSH,
		// a restart without persistence), Call loads it and calls again.
		n, err := hit.Call(ctx, rdb, []string{visitsKey}, 60).Int64()
		if err != nil {
			return err // an error raised in the function names visits.lua and its line
		}
		fmt.Fprintln(out, "example_visits_hit:", n)
	}
	n, err := count.Call(ctx, rdb, []string{visitsKey}).Int64() // FCALL_RO
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "example_visits_count:", n)
	return nil
}

// connect returns a client of REDIS_ADDR, or of an embedded miniredis.
func connect() (rdb *redis.Client, where string, closeAll func(), err error) {
	addr, stop := os.Getenv("REDIS_ADDR"), func() {}
	if addr != "" {
		where = "Redis at " + addr
	} else {
		m, err := miniredis.Run()
		if err != nil {
			return nil, "", nil, err
		}
		addr, where, stop = m.Addr(), "an embedded miniredis (set REDIS_ADDR to use a real Redis)", m.Close
	}
	rdb = redis.NewClient(&redis.Options{Addr: addr})
	return rdb, where, func() { rdb.Close(); stop() }, nil
}
