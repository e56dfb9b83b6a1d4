// Command ratelimit shows redislua's sliding-window rate limiter: calls
// admitted up to the limit, refusals that say when to retry, the window
// sliding, AllowN, Reset, and the constant-memory sliding counter.
//
// It uses the Redis at REDIS_ADDR (host:port) when that is set, and an
// embedded miniredis otherwise:
//
//	go run ./examples/ratelimit
//	REDIS_ADDR=127.0.0.1:6379 go run ./examples/ratelimit
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/ratelimit"
)

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
	return demo(ctx, out, rdb, time.Sleep)
}

// demo runs the limiters on rdb; sleep waits (a test passes one that moves
// a stopped server clock instead).
func demo(ctx context.Context, out io.Writer, rdb *redis.Client, sleep func(time.Duration)) error {

	// 5 calls per 300 ms for each key, timed by the server's clock.
	limiter, err := ratelimit.New(rdb, 5, 300*time.Millisecond, nil)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("example:ratelimit:%d", time.Now().UnixNano()) // fresh on a shared server
	defer limiter.Reset(ctx, key)

	var last ratelimit.Result
	for i := 1; i <= 7; i++ {
		r, err := limiter.Allow(ctx, key)
		if err != nil {
			return err
		}
		if r.Allowed {
			fmt.Fprintf(out, "call %d: allowed, %d remaining\n", i, r.Remaining)
		} else {
			fmt.Fprintf(out, "call %d: refused, retry after %v\n", i, r.RetryAfter.Round(time.Millisecond))
		}
		last = r
	}

	// Waiting what the refusal said is enough: the oldest call has left
	// the window.
	sleep(last.RetryAfter)
	r, err := limiter.Allow(ctx, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "after waiting %v: allowed=%v\n", last.RetryAfter.Round(time.Millisecond), r.Allowed)

	// AllowN admits all n calls or none.
	batch := key + ":batch"
	defer limiter.Reset(ctx, batch)
	for _, n := range []int{3, 3, 2} {
		r, err := limiter.AllowN(ctx, batch, n)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "AllowN(%d): allowed=%v, %d remaining\n", n, r.Allowed, r.Remaining)
	}
	if err := limiter.Reset(ctx, batch); err != nil {
		return err
	}
	r, err = limiter.AllowN(ctx, batch, 5)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "after Reset, AllowN(5): allowed=%v\n", r.Allowed)

	// For limits too high to log every call: two counts per key.
	counter, err := ratelimit.New(rdb, 100_000, time.Minute, &ratelimit.Options{Algorithm: ratelimit.SlidingCounter})
	if err != nil {
		return err
	}
	hot := key + ":counter"
	defer counter.Reset(ctx, hot)
	admitted := 0
	for range 50 {
		r, err := counter.AllowN(ctx, hot, 2_500)
		if err != nil {
			return err
		}
		if r.Allowed {
			admitted += 2_500
		}
	}
	fmt.Fprintf(out, "sliding counter, limit 100000 per minute: admitted %d of %d\n", admitted, 50*2_500)
	return nil
}

// connect returns a client of REDIS_ADDR, or of an embedded miniredis.
func connect() (*redis.Client, string, func(), error) {
	if addr := os.Getenv("REDIS_ADDR"); addr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		return rdb, "Redis at " + addr, func() { rdb.Close() }, nil
	}
	m, err := miniredis.Run()
	if err != nil {
		return nil, "", nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	return rdb, "an embedded miniredis (set REDIS_ADDR to use a real Redis)", func() { rdb.Close(); m.Close() }, nil
}
