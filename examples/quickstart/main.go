// Command quickstart shows redislua's registry at work: scripts embedded
// from lua/, run by name, recovering from a flushed script cache, queued in
// a pipeline, and errors that name the file and line.
//
// It uses an embedded miniredis, or the Redis at REDIS_ADDR (host:port)
// when that is set:
//
//	go run ./examples/quickstart
//	REDIS_ADDR=127.0.0.1:6379 go run ./examples/quickstart
//	REDIS_ADDR=127.0.0.1:6379 go run ./examples/quickstart -flush
//
// On a server of yours it writes only keys starting with "quickstart:",
// refuses to start when one exists already, and deletes them before it
// exits. It empties the server's script cache (SCRIPT FLUSH, to show Run
// recovering from it) only on the embedded miniredis, or when -flush asks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// scripts_gen.go holds typed methods for the scripts in lua/, written by:
//
//go:generate go run github.com/redislua/redislua/cmd/redislua gen -o scripts_gen.go lua

// The keys the program writes, and deletes before it returns.
const (
	fromKey   = "quickstart:{alice}:checking"
	toKey     = "quickstart:{alice}:savings"
	visitsKey = "quickstart:visits"
)

func main() {
	flush := flag.Bool("flush", false, "with REDIS_ADDR, run SCRIPT FLUSH on that server too (it empties the server's whole script cache)")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *flush); err != nil {
		log.Fatal(err)
	}
}

// run shows the registry at work; flush allows SCRIPT FLUSH on a server
// given by REDIS_ADDR.
func run(ctx context.Context, out io.Writer, flush bool) error {
	rdb, where, embedded, closeAll, err := connect()
	if err != nil {
		return err
	}
	defer closeAll()
	fmt.Fprintln(out, "using", where)

	// NewScripts (generated from the scripts' headers by redislua gen)
	// embeds lua/ and builds the registry once; names are paths below lua/:
	// lua/transfer.lua is "transfer", run by the method Transfer.
	scripts, err := NewScripts(nil)
	if err != nil {
		return err
	}
	reg := scripts.Registry()
	for _, s := range reg.Scripts() {
		fmt.Fprintf(out, "loaded script %-8s sha1 %s read-only=%v\n", s.Name(), s.SHA(), s.ReadOnly())
	}
	if err := reg.LoadAll(ctx, rdb); err != nil {
		return err
	}

	// Never overwrite what is there: the keys must be new, and go at the end.
	if n, err := rdb.Exists(ctx, fromKey, toKey, visitsKey).Result(); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("quickstart: %s holds keys %s, %s or %s already; delete them or use another server", where, fromKey, toKey, visitsKey)
	}
	defer rdb.Del(context.WithoutCancel(ctx), fromKey, toKey, visitsKey)

	if err := rdb.Set(ctx, fromKey, 100, 0).Err(); err != nil {
		return err
	}
	left, err := scripts.Transfer(ctx, rdb, fromKey, toKey, 30)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "transfer 30: %s now %d\n", fromKey, left)

	// After a restart or failover the server's script cache is empty; Run
	// notices NOSCRIPT and sends the script once with EVAL.
	did := "after SCRIPT FLUSH"
	if embedded || flush {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			return err
		}
	} else {
		did = "(SCRIPT FLUSH skipped on your server: -flush runs it)"
	}
	left, err = scripts.Transfer(ctx, rdb, fromKey, toKey, 20)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "transfer 20 %s: %s now %d\n", did, fromKey, left)

	// In a pipeline Run queues EVAL, which a flushed cache cannot break;
	// with OptimizePipelines, later calls of the same script become EVALSHA.
	pipe := rdb.Pipeline()
	fromBal := reg.Run(ctx, pipe, "balance", []string{fromKey})
	toBal := reg.Run(ctx, pipe, "balance", []string{toKey})
	if _, err := pipe.Exec(ctx); err != nil {
		return reg.MapError(err)
	}
	fmt.Fprintf(out, "balances in one pipeline: %d and %d\n", fromBal.Val(), toBal.Val())

	// A script's own error reply arrives untouched.
	_, err = scripts.Transfer(ctx, rdb, fromKey, toKey, 1000)
	fmt.Fprintln(out, "transfer 1000:", err)

	// A bug Redis would only report when the line runs is refused now,
	// naming the file, line and column.
	_, err = reg.Add("visits", "local n = redis.call('INCR', KEYS[1])\nreturn totl + n\n")
	fmt.Fprintln(out, "a misspelt local, refused at start-up:", err)

	// An error raised while a script runs names the file and line.
	if err := rdb.Set(ctx, visitsKey, "many", 0).Err(); err != nil {
		return err
	}
	_, err = scripts.Incr(ctx, rdb, visitsKey, 1)
	var se *redislua.ScriptError
	if errors.As(err, &se) {
		fmt.Fprintf(out, "a run-time error, reported as: %v\n", err)
	}
	return nil
}

// connect returns a client of REDIS_ADDR, or of an embedded miniredis
// (embedded is then true).
func connect() (rdb *redis.Client, where string, embedded bool, closeAll func(), err error) {
	addr, stop := os.Getenv("REDIS_ADDR"), func() {}
	if addr != "" {
		where = "Redis at " + addr
	} else {
		m, err := miniredis.Run()
		if err != nil {
			return nil, "", false, nil, err
		}
		addr, where, embedded, stop = m.Addr(), "an embedded miniredis (set REDIS_ADDR to use a real Redis)", true, m.Close
	}
	rdb = redis.NewClient(&redis.Options{Addr: addr})
	// Optional, once per client: pipelines send each script's source once.
	if err := redislua.OptimizePipelines(rdb); err != nil {
		return nil, "", false, nil, err
	}
	return rdb, where, embedded, func() { rdb.Close(); stop() }, nil
}
