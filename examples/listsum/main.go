// Command listsum runs scripts of its own, embedded from lua/ and run
// through a redislua Registry, as an application would: push.lua appends
// integers to a list and adds them to a running sum in one atomic step,
// and stats.lua (read-only) reads both back.
//
// It uses the Redis at REDIS_ADDR (host:port) when that is set, and an
// embedded miniredis otherwise:
//
//	go run ./examples/listsum
//	REDIS_ADDR=127.0.0.1:6379 go run ./examples/listsum
package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math"
	"os"
	"strconv"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

//go:embed lua
var files embed.FS

// newRegistry reads the scripts under lua/, named from inside it: "push"
// and "stats".
func newRegistry() (*redislua.Registry, error) {
	scripts, err := fs.Sub(files, "lua")
	if err != nil {
		return nil, err
	}
	return redislua.NewRegistry(scripts, nil)
}

// The keys share the hash tag {nums}, so that on a cluster both live in
// one slot, as a script's keys must.
const (
	listKey = "example-listsum:{nums}:list"
	sumKey  = "example-listsum:{nums}:sum"
)

// errSumOverflow means the numbers of one push add up past int64.
var errSumOverflow = errors.New("listsum: the numbers' total overflows int64")

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

	reg, err := newRegistry()
	if err != nil {
		return err // names the file and line of a syntax error
	}
	for _, s := range reg.Scripts() {
		fmt.Fprintf(out, "script %-5s from %s, read-only=%v\n", s.Name(), s.File(), s.ReadOnly())
	}
	if err := rdb.Del(ctx, listKey, sumKey).Err(); err != nil {
		return err
	}

	for _, nums := range [][]int64{{3, 4, 5}, {10, -2}} {
		length, sum, err := push(ctx, reg, rdb, nums...)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "pushed %v: list length %d, sum %d\n", nums, length, sum)
	}

	items, sum, err := stats(ctx, reg, rdb)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "list %v, sum %d\n", items, sum)

	// Near the int64 maximum, INCRBY refuses the overflow before anything
	// is written, so the list does not change either.
	if err := rdb.Set(ctx, sumKey, math.MaxInt64-1, 0).Err(); err != nil {
		return err
	}
	_, _, err = push(ctx, reg, rdb, 7)
	fmt.Fprintln(out, "pushing 7 onto a sum of MaxInt64-1:", err)
	items, sum, err = stats(ctx, reg, rdb)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "list %v, sum %d (unchanged)\n", items, sum)
	return nil
}

// push appends nums to the list and adds them to the sum, atomically, and
// returns the list's length and the new sum.
func push(ctx context.Context, reg *redislua.Registry, rdb redis.Scripter, nums ...int64) (length, sum int64, err error) {
	if len(nums) == 0 {
		return 0, 0, errors.New("listsum: nothing to push")
	}
	args := make([]any, 1, len(nums)+1)
	var total int64
	for _, n := range nums {
		if (n > 0 && total > math.MaxInt64-n) || (n < 0 && total < math.MinInt64-n) {
			return 0, 0, errSumOverflow
		}
		total += n
		args = append(args, n)
	}
	args[0] = total
	reply, err := reg.Run(ctx, rdb, "push", []string{listKey, sumKey}, args...).Slice()
	if err != nil {
		return 0, 0, err
	}
	if len(reply) != 2 {
		return 0, 0, fmt.Errorf("listsum: push replied %v", reply)
	}
	length, ok := reply[0].(int64)
	text, ok2 := reply[1].(string)
	if !ok || !ok2 {
		return 0, 0, fmt.Errorf("listsum: push replied %v", reply)
	}
	sum, err = strconv.ParseInt(text, 10, 64)
	return length, sum, err
}

// stats returns the list's items and the sum.
func stats(ctx context.Context, reg *redislua.Registry, rdb redis.Scripter) (items []string, sum int64, err error) {
	reply, err := reg.Run(ctx, rdb, "stats", []string{listKey, sumKey}).Slice()
	if err != nil {
		return nil, 0, err
	}
	var list []any
	var text string
	if len(reply) == 2 {
		list, _ = reply[0].([]any)
		text, _ = reply[1].(string)
	}
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return nil, 0, fmt.Errorf("listsum: stats replied %v", reply)
		}
		items = append(items, s)
	}
	sum, err = strconv.ParseInt(text, 10, 64)
	return items, sum, err
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
