package ratelimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/ratelimit"
)

// A limiter of 3 calls per second for each key.
func ExampleNew() {
	ctx := context.Background()
	m, err := miniredis.Run() // an embedded Redis for the example
	if err != nil {
		panic(err)
	}
	defer m.Close()
	m.SetTime(time.Unix(1_700_000_040, 0)) // the server's clock, which the limiter reads
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()

	limiter, err := ratelimit.New(rdb, 3, time.Second, nil)
	if err != nil {
		panic(err)
	}
	for range 4 {
		r, err := limiter.Allow(ctx, "user:42")
		if err != nil {
			panic(err)
		}
		fmt.Printf("allowed=%v remaining=%d retry-after=%v\n", r.Allowed, r.Remaining, r.RetryAfter)
	}
	// Output:
	// allowed=true remaining=2 retry-after=0s
	// allowed=true remaining=1 retry-after=0s
	// allowed=true remaining=0 retry-after=0s
	// allowed=false remaining=0 retry-after=1s
}

// A sliding-window counter keeps two counts per key whatever the limit.
// Calls of the previous fixed window count in proportion to how much of it
// the sliding window still covers.
func ExampleNew_slidingCounter() {
	ctx := context.Background()
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	start := time.Unix(1_700_000_040, 0) // a whole minute: a fixed window starts
	m.SetTime(start)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()

	limiter, err := ratelimit.New(rdb, 1000, time.Minute, &ratelimit.Options{Algorithm: ratelimit.SlidingCounter})
	if err != nil {
		panic(err)
	}
	r, _ := limiter.AllowN(ctx, "api:{tenant7}", 800)
	fmt.Println(r.Allowed, r.Remaining)

	// 45 s into the next minute, a quarter of the previous one is still
	// inside the sliding window: 800 * 15/60 = 200 calls count.
	m.SetTime(start.Add(time.Minute + 45*time.Second))
	r, _ = limiter.AllowN(ctx, "api:{tenant7}", 800)
	fmt.Println(r.Allowed, r.Remaining)
	// Output:
	// true 200
	// true 0
}

// The window slides: each call leaves it one window after it was made.
func ExampleLimiter_Allow() {
	ctx := context.Background()
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	start := time.Unix(1_700_000_040, 0)
	m.SetTime(start) // the server's clock, which the limiter reads
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()

	limiter, err := ratelimit.New(rdb, 2, time.Second, nil)
	if err != nil {
		panic(err)
	}
	for _, at := range []time.Duration{0, 400 * time.Millisecond, 700 * time.Millisecond, time.Second, 1100 * time.Millisecond} {
		m.SetTime(start.Add(at))
		r, err := limiter.Allow(ctx, "user:42")
		if err != nil {
			panic(err)
		}
		if !r.Allowed {
			fmt.Printf("%v: refused, retry after %v\n", at, r.RetryAfter)
			continue
		}
		fmt.Printf("%v: allowed, %d left, window clear in %v\n", at, r.Remaining, r.ResetAfter)
	}
	// Output:
	// 0s: allowed, 1 left, window clear in 1s
	// 400ms: allowed, 0 left, window clear in 1s
	// 700ms: refused, retry after 300ms
	// 1s: allowed, 0 left, window clear in 1s
	// 1.1s: refused, retry after 300ms
}

// AllowN takes n calls at once, or none: a refused AllowN uses up nothing.
func ExampleLimiter_AllowN() {
	ctx := context.Background()
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()

	limiter, err := ratelimit.New(rdb, 10, time.Minute, nil)
	if err != nil {
		panic(err)
	}
	for _, n := range []int{7, 5, 3} {
		r, err := limiter.AllowN(ctx, "batch:import", n)
		if err != nil {
			panic(err)
		}
		fmt.Printf("AllowN(%d): allowed=%v remaining=%d\n", n, r.Allowed, r.Remaining)
	}
	// Output:
	// AllowN(7): allowed=true remaining=3
	// AllowN(5): allowed=false remaining=3
	// AllowN(3): allowed=true remaining=0
}

// Reset forgets a key's calls.
func ExampleLimiter_Reset() {
	ctx := context.Background()
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	m.SetTime(time.Unix(1_700_000_040, 0)) // the server's clock, which the limiter reads
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()

	limiter, err := ratelimit.New(rdb, 1, time.Hour, nil)
	if err != nil {
		panic(err)
	}
	r, _ := limiter.Allow(ctx, "password-reset:alice")
	fmt.Println(r.Allowed)
	r, _ = limiter.Allow(ctx, "password-reset:alice")
	fmt.Println(r.Allowed, r.RetryAfter)

	if err := limiter.Reset(ctx, "password-reset:alice"); err != nil {
		panic(err)
	}
	r, _ = limiter.Allow(ctx, "password-reset:alice")
	fmt.Println(r.Allowed)
	// Output:
	// true
	// false 1h0m0s
	// true
}

// GCRA spaces calls evenly: 10 a second is one every 100 ms, and a burst of
// up to 5 is taken from the time saved while idle. AllowAtMost admits what
// fits; Peek reads the state without using anything.
func ExampleNew_gcra() {
	ctx := context.Background()
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	start := time.Unix(1_700_000_040, 0)
	m.SetTime(start)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()

	limiter, err := ratelimit.New(rdb, 10, time.Second, &ratelimit.Options{Algorithm: ratelimit.GCRA, Burst: 5})
	if err != nil {
		panic(err)
	}
	r, _ := limiter.AllowAtMost(ctx, "user:42", 8) // a burst: 5 of the 8
	fmt.Println(r.Admitted, r.Remaining, r.RetryAfter)
	r, _ = limiter.Allow(ctx, "user:42") // the next interval is 100 ms away
	fmt.Println(r.Allowed, r.RetryAfter)

	m.SetTime(start.Add(250 * time.Millisecond)) // two intervals later
	r, _ = limiter.Peek(ctx, "user:42")
	fmt.Println(r.Remaining, r.ResetAfter)
	// Output:
	// 5 0 0s
	// false 100ms
	// 2 250ms
}

// A limit per call, as go-redis/redis_rate takes it.
func ExampleLimiter_AllowWith() {
	ctx := context.Background()
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	m.SetTime(time.Unix(1_700_000_040, 0))
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()

	limiter, err := ratelimit.New(rdb, 100, time.Minute, &ratelimit.Options{Algorithm: ratelimit.GCRA})
	if err != nil {
		panic(err)
	}
	free, paid := ratelimit.PerMinute(2), ratelimit.PerMinute(100)
	for range 3 {
		r, _ := limiter.AllowWith(ctx, "user:free", free, 1)
		fmt.Print(r.Allowed, " ")
	}
	r, _ := limiter.AllowWith(ctx, "user:paid", paid, 1)
	fmt.Println(r.Allowed, r.Remaining, free)
	// Output: true true false true 99 2 req/m (burst 2)
}
