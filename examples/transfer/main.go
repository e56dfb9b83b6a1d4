// Command transfer moves money between balances with package transfer's
// Move and MoveOnce: atomic, never overdrawn, exact for every int64, and
// safe to retry with a transfer ID.
//
// It uses the Redis at REDIS_ADDR (host:port) when that is set, and an
// embedded miniredis otherwise:
//
//	go run ./examples/transfer
//	REDIS_ADDR=127.0.0.1:6379 go run ./examples/transfer
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"os"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/transfer"
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

	// The hash tag {demo} puts every balance in one cluster slot, which a
	// transfer needs.
	alice, bob := "example-transfer:{demo}:alice", "example-transfer:{demo}:bob"
	ours := []string{alice, bob, transfer.RecordKey(alice, "order-17")}
	if err := rdb.Del(ctx, ours...).Err(); err != nil {
		return err
	}
	defer rdb.Del(ctx, ours...) // leave nothing behind
	if err := rdb.Set(ctx, alice, 100, 0).Err(); err != nil {
		return err
	}

	res, err := transfer.Move(ctx, rdb, alice, bob, 30)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "moved 30: alice %d, bob %d\n", res.From, res.To)

	_, err = transfer.Move(ctx, rdb, alice, bob, 500)
	if !errors.Is(err, transfer.ErrInsufficientFunds) {
		return fmt.Errorf("moving 500: got %v, want insufficient funds", err)
	}
	fmt.Fprintln(out, "moving 500 refused:", err)

	// A client that timed out does not know whether its transfer happened.
	// With an ID it simply retries: the amount moves once.
	for attempt := 1; attempt <= 3; attempt++ {
		res, err := transfer.MoveOnce(ctx, rdb, alice, bob, 20, "order-17", nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "order-17 attempt %d: applied=%v, alice %d, bob %d\n", attempt, res.Applied, res.From, res.To)
	}

	// Lua numbers are doubles, exact only up to 2^53; Move is exact
	// for every int64.
	if err := rdb.Set(ctx, alice, math.MaxInt64, 0).Err(); err != nil {
		return err
	}
	res, err = transfer.Move(ctx, rdb, alice, bob, 1)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "from the int64 maximum, moved 1: alice %d\n", res.From)

	_, err = transfer.Move(ctx, rdb, bob, alice, 2)
	if !errors.Is(err, transfer.ErrOverflow) {
		return fmt.Errorf("moving 2 back: got %v, want an overflow", err)
	}
	fmt.Fprintln(out, "moving 2 back, past the maximum, refused:", err)
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
