package benchmarks

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/ratelimit"
)

// rateKeys are the limited keys the rate-limiter benchmarks spread their
// calls over.
var rateKeys = func() []string {
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = "bench:rl:" + strconv.Itoa(i)
	}
	return keys
}()

// rateRegime is a limit and window that both libraries express: redislua's
// (limit, window) and redis_rate's Limit (a GCRA with a burst of the same
// size, so that a full burst is admitted at once as in a sliding window).
type rateRegime struct {
	name   string
	limit  int
	window time.Duration
	gcra   redis_rate.Limit
}

var rateRegimes = []rateRegime{
	// No key reaches 10,000 calls a second at the throughput of this
	// machine: every call is admitted and recorded.
	{"admitting", 10_000, time.Second, redis_rate.PerSecond(10_000)},
	// After its first 10 calls every key is refused: the path a limiter
	// under attack takes.
	{"refusing", 10, time.Minute, redis_rate.PerMinute(10)},
}

// rateImpl is one limiter: allow admits one call on a key; storage names
// the Redis key that holds a limited key's state.
type rateImpl struct {
	name    string
	allow   func(ctx context.Context, key string) (bool, error)
	storage func(key string) string
}

// rateClient is what both libraries' limiters run on: a *redis.Client or
// its *redis.AutoPipeliner.
type rateClient interface {
	redis.Scripter
	Del(ctx context.Context, keys ...string) *redis.IntCmd
	EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd
	EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd
}

func rateImpls(tb testing.TB, c rateClient, r rateRegime) []rateImpl {
	tb.Helper()
	logLimiter, err := ratelimit.New(c, r.limit, r.window, nil)
	if err != nil {
		tb.Fatal(err)
	}
	counter, err := ratelimit.New(c, r.limit, r.window, &ratelimit.Options{Algorithm: ratelimit.SlidingCounter})
	if err != nil {
		tb.Fatal(err)
	}
	ourGCRA, err := ratelimit.New(c, r.limit, r.window, &ratelimit.Options{Algorithm: ratelimit.GCRA})
	if err != nil {
		tb.Fatal(err)
	}
	gcra := redis_rate.NewLimiter(c)
	ours := func(l *ratelimit.Limiter) func(context.Context, string) (bool, error) {
		return func(ctx context.Context, key string) (bool, error) {
			res, err := l.Allow(ctx, key)
			return res.Allowed, err
		}
	}
	return []rateImpl{
		// The key names are the ones package ratelimit documents.
		{"redislua-log", ours(logLimiter), func(k string) string { return k + "{" + k + "}redislua:ratelog" }},
		{"redislua-counter", ours(counter), func(k string) string { return k + "{" + k + "}redislua:ratecount" }},
		{"redislua-gcra", ours(ourGCRA), func(k string) string { return k + "{" + k + "}redislua:rategcra" }},
		{"redis_rate", func(ctx context.Context, key string) (bool, error) {
			res, err := gcra.Allow(ctx, key, r.gcra)
			if err != nil {
				return false, err
			}
			return res.Allowed > 0, nil
		}, func(k string) string { return "rate:" + k }},
	}
}

// BenchmarkRateLimiter measures Allow of redislua's three limiters against
// go-redis/redis_rate (target 4), from 64 goroutines over 100 keys, in two
// regimes (see rateRegimes). allowed-% is the share of calls admitted;
// bytes/key is the mean MEMORY USAGE of the keys' state after the run:
// the log holds one member per call in its window (so its size follows
// the throughput), the counter, redislua's GCRA and redis_rate a
// fixed-size value.
func BenchmarkRateLimiter(b *testing.B) {
	srv, c := standalone(b, goroutines)
	info := newClient(b, srv.Addr, 1)
	ctx := context.Background()
	for _, r := range rateRegimes {
		for _, impl := range rateImpls(b, c, r) {
			b.Run("regime="+r.name+"/impl="+impl.name, func(b *testing.B) {
				if err := c.FlushDB(ctx).Err(); err != nil {
					b.Fatal(err)
				}
				var next, allowed atomic.Int64
				b.ReportAllocs()
				setGoroutines(b, goroutines)
				b.ResetTimer()
				m := startCPU(b, info)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						ok, err := impl.allow(ctx, rateKeys[next.Add(1)%int64(len(rateKeys))])
						if err != nil {
							b.Error(err)
							return
						}
						if ok {
							allowed.Add(1)
						}
					}
				})
				b.StopTimer()
				m.report(b, b.N, 0)
				b.ReportMetric(100*float64(allowed.Load())/float64(b.N), "allowed-%")
				b.ReportMetric(meanMemory(ctx, b, c, impl), "bytes/key")
			})
		}
	}
}

// meanMemory returns the mean MEMORY USAGE (all samples) of the state of
// the limited keys that have any.
func meanMemory(ctx context.Context, tb testing.TB, c *redis.Client, impl rateImpl) float64 {
	tb.Helper()
	var total, n int64
	for _, k := range rateKeys {
		bytes, err := c.MemoryUsage(ctx, impl.storage(k), 0).Result()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		total += bytes
		n++
	}
	if n == 0 {
		return 0
	}
	return float64(total) / float64(n)
}

func TestRateImpls(t *testing.T) {
	_, c := standalone(t, 0)
	ctx := context.Background()
	for _, r := range rateRegimes {
		for _, impl := range rateImpls(t, c, r) {
			key := "test:" + r.name
			admitted := 0
			for range 12 {
				ok, err := impl.allow(ctx, key)
				if err != nil {
					t.Fatalf("%s/%s: %v", r.name, impl.name, err)
				}
				if ok {
					admitted++
				}
			}
			if want := min(12, r.limit); admitted != want {
				t.Errorf("%s/%s: admitted %d of 12 calls, want %d", r.name, impl.name, admitted, want)
			}
			if n, err := c.Exists(ctx, impl.storage(key)).Result(); err != nil || n != 1 {
				t.Errorf("%s/%s: state key %q exists = %d, %v; want 1", r.name, impl.name, impl.storage(key), n, err)
			}
		}
	}
}
