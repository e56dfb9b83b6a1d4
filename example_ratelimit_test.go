package redislua_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// start is the time the examples' server clock shows: a whole minute, so
// that fixed windows start with it.
var start = time.Unix(1_700_000_040, 0)

// newClockedClient returns a client of an embedded miniredis whose clock
// (which scripts read with TIME) stands at start until set, so that the
// durations printed are exact.
func newClockedClient() (*redis.Client, *miniredis.Miniredis, func()) {
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	m.SetTime(start)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	return rdb, m, func() { rdb.Close(); m.Close() }
}

// A limiter of 3 calls per second for each key.
func ExampleNewRateLimiter() {
	ctx := context.Background()
	rdb, _, done := newClockedClient()
	defer done()

	limiter, err := redislua.NewRateLimiter(rdb, 3, time.Second)
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

// The window slides: each call leaves it one window after it was made.
func ExampleRateLimiter_Allow() {
	ctx := context.Background()
	rdb, m, done := newClockedClient()
	defer done()

	limiter, err := redislua.NewRateLimiter(rdb, 2, time.Second)
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
func ExampleRateLimiter_AllowN() {
	ctx := context.Background()
	rdb, _, done := newClockedClient()
	defer done()

	limiter, err := redislua.NewRateLimiter(rdb, 10, time.Minute)
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
func ExampleRateLimiter_Reset() {
	ctx := context.Background()
	rdb, _, done := newClockedClient()
	defer done()

	limiter, err := redislua.NewRateLimiter(rdb, 1, time.Hour)
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

// A sliding-window counter keeps two counts per key whatever the limit.
// Calls of the previous fixed window count in proportion to how much of it
// the sliding window still covers.
func ExampleWithSlidingCounter() {
	ctx := context.Background()
	rdb, m, done := newClockedClient()
	defer done()

	limiter, err := redislua.NewRateLimiter(rdb, 1000, time.Minute, redislua.WithSlidingCounter())
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
