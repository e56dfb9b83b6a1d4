package cas_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/cas"
)

// A compare-and-swap changes a key only from the value the caller last saw.
func ExampleSwap() {
	// An embedded Redis, so that the example runs anywhere.
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	rdb.Set(ctx, "job:42", "pending", 0)
	ok, err := cas.Swap(ctx, rdb, "job:42", "pending", "active", nil)
	fmt.Println(ok, err)
	ok, err = cas.Swap(ctx, rdb, "job:42", "pending", "active", nil)
	fmt.Println(ok, err) // someone else got there first

	// With a TTL the swap also sets when the key expires.
	ok, _ = cas.Swap(ctx, rdb, "job:42", "active", "done", &cas.Options{TTL: time.Hour})
	fmt.Println(ok, rdb.TTL(ctx, "job:42").Val())
	// Output:
	// true <nil>
	// false <nil>
	// true 1h0m0s
}

// Releasing something only if it is still ours: delete the key only while
// it holds our token.
func ExampleDelete() {
	// An embedded Redis, so that the example runs anywhere.
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	rdb.Set(ctx, "owner", "token-b", 0)
	ok, _ := cas.Delete(ctx, rdb, "owner", "token-a")
	fmt.Println(ok, rdb.Exists(ctx, "owner").Val())
	ok, _ = cas.Delete(ctx, rdb, "owner", "token-b")
	fmt.Println(ok, rdb.Exists(ctx, "owner").Val())
	// Output:
	// false 1
	// true 0
}

// SwapMany moves every listed job that is still pending, in one step. The
// keys share a hash tag, so they share a cluster slot.
func ExampleSwapMany() {
	// An embedded Redis, so that the example runs anywhere.
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	rdb.Set(ctx, "{jobs}:1", "pending", 0)
	rdb.Set(ctx, "{jobs}:2", "done", 0)
	rdb.Set(ctx, "{jobs}:3", "pending", 0)
	n, err := cas.SwapMany(ctx, rdb, []string{"{jobs}:1", "{jobs}:2", "{jobs}:3"}, "pending", "active", nil)
	fmt.Println(n, err)
	fmt.Println(rdb.MGet(ctx, "{jobs}:1", "{jobs}:2", "{jobs}:3").Val())

	// Keys in different slots are refused before anything is sent.
	_, err = cas.SwapMany(ctx, rdb, []string{"{jobs}:1", "{other}:1"}, "pending", "active", nil)
	fmt.Println(err != nil)
	// Output:
	// 2 <nil>
	// [active done active]
	// true
}

// A writer that held lock fence 34 paused past its lock's expiry; the next
// holder (fence 35) wrote meanwhile. The late write is refused.
func ExampleFencedSet() {
	// An embedded Redis, so that the example runs anywhere.
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	ok, _ := cas.FencedSet(ctx, rdb, "{doc}:7", "draft by 34", 34)
	fmt.Println(ok)
	ok, _ = cas.FencedSet(ctx, rdb, "{doc}:7", "final by 35", 35)
	fmt.Println(ok)
	ok, _ = cas.FencedSet(ctx, rdb, "{doc}:7", "late write by 34", 34)
	fmt.Println(ok, rdb.Get(ctx, "{doc}:7").Val())
	fmt.Println(cas.FenceRecordKey("{doc}:7"), rdb.Get(ctx, cas.FenceRecordKey("{doc}:7")).Val())
	// Output:
	// true
	// true
	// false final by 35
	// {doc}:7{}redislua:fenced 35
}
