// Command quickstart shows redislua's registry at work: scripts embedded
// from lua/, run by name, recovering from a flushed script cache, queued in
// a pipeline, and errors that name the file and line.
//
// It uses the Redis at REDIS_ADDR (host:port) when that is set, and an
// embedded miniredis otherwise:
//
//	go run ./examples/quickstart
//	REDIS_ADDR=127.0.0.1:6379 go run ./examples/quickstart
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

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

//go:embed lua
var files embed.FS

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer) error {
	rdb, where, closeAll, err := connect()
	if err != nil {
		return err
	}
	defer closeAll()
	fmt.Fprintln(out, "using", where)

	// Names are paths inside the fs.FS given: fs.Sub makes lua/transfer.lua
	// "transfer".
	scripts, err := fs.Sub(files, "lua")
	if err != nil {
		return err
	}
	reg, err := redislua.NewRegistry(scripts, nil)
	if err != nil {
		return err
	}
	for _, s := range reg.Scripts() {
		fmt.Fprintf(out, "loaded script %-8s sha1 %s read-only=%v\n", s.Name(), s.SHA(), s.ReadOnly())
	}
	if err := reg.LoadAll(ctx, rdb); err != nil {
		return err
	}

	from, to := "quickstart:{alice}:checking", "quickstart:{alice}:savings"
	if err := rdb.Set(ctx, from, 100, 0).Err(); err != nil {
		return err
	}
	if err := rdb.Del(ctx, to).Err(); err != nil {
		return err
	}

	left, err := reg.Run(ctx, rdb, "transfer", []string{from, to}, 30).Int64()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "transfer 30: %s now %d\n", from, left)

	// After a restart or failover the server's script cache is empty; Run
	// notices NOSCRIPT and sends the script once with EVAL.
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		return err
	}
	left, err = reg.Run(ctx, rdb, "transfer", []string{from, to}, 20).Int64()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "transfer 20 after SCRIPT FLUSH: %s now %d\n", from, left)

	// In a pipeline Run queues EVAL, which a flushed cache cannot break;
	// with OptimizePipelines, later calls of the same script become EVALSHA.
	pipe := rdb.Pipeline()
	fromBal := reg.Run(ctx, pipe, "balance", []string{from})
	toBal := reg.Run(ctx, pipe, "balance", []string{to})
	if _, err := pipe.Exec(ctx); err != nil {
		return reg.MapError(err)
	}
	fmt.Fprintf(out, "balances in one pipeline: %d and %d\n", fromBal.Val(), toBal.Val())

	// A script's own error reply arrives untouched.
	err = reg.Run(ctx, rdb, "transfer", []string{from, to}, 1000).Err()
	fmt.Fprintln(out, "transfer 1000:", err)

	// A bug Redis would only report when the line runs is refused now,
	// naming the file, line and column.
	_, err = reg.Add("visits", "local n = redis.call('INCR', KEYS[1])\nreturn totl + n\n")
	fmt.Fprintln(out, "a misspelt local, refused at start-up:", err)

	// An error raised while a script runs names the file and line.
	if err := rdb.Set(ctx, "quickstart:visits", "many", 0).Err(); err != nil {
		return err
	}
	err = reg.Run(ctx, rdb, "incr", []string{"quickstart:visits"}, 1).Err()
	var se *redislua.ScriptError
	if errors.As(err, &se) {
		fmt.Fprintf(out, "a run-time error, reported as: %v\n", err)
	}
	return nil
}

// connect returns a client of REDIS_ADDR, or of an embedded miniredis.
func connect() (*redis.Client, string, func(), error) {
	addr, where, stop := os.Getenv("REDIS_ADDR"), "", func() {}
	if addr != "" {
		where = "Redis at " + addr
	} else {
		m, err := miniredis.Run()
		if err != nil {
			return nil, "", nil, err
		}
		addr, where, stop = m.Addr(), "an embedded miniredis (set REDIS_ADDR to use a real Redis)", m.Close
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	// Optional, once per client: pipelines send each script's source once.
	if err := redislua.OptimizePipelines(rdb); err != nil {
		return nil, "", nil, err
	}
	return rdb, where, func() { rdb.Close(); stop() }, nil
}
