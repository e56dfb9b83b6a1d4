package redislua

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/redistest"
)

// BenchmarkRateLimiter measures Allow on a real redis-server from parallel
// goroutines, for both kinds of limiter, spread over 100 keys. "admitting"
// uses a limit no key reaches in its 1 s window, so every call records
// itself (the log holds a few hundred members per key); "refusing" allows
// 10 calls per hour, so after the first 1000 calls every call is refused,
// the path a limiter under attack takes. allowed-% is the share of calls
// admitted.
func BenchmarkRateLimiter(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 64})
	b.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	if err := prebuilt.LoadAll(ctx, rdb); err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = "bench:ratelimit:" + strconv.Itoa(i)
	}
	for _, v := range []struct {
		name string
		opts []RateLimitOption
	}{
		{"log", nil},
		{"counter", []RateLimitOption{WithSlidingCounter()}},
	} {
		for _, c := range []struct {
			name   string
			limit  int
			window time.Duration
		}{
			{"admitting", 1 << 30, time.Second},
			{"refusing", 10, time.Hour},
		} {
			b.Run(v.name+"/"+c.name, func(b *testing.B) {
				l, err := NewRateLimiter(rdb, c.limit, c.window, v.opts...)
				if err != nil {
					b.Fatal(err)
				}
				for _, k := range keys {
					if err := l.Reset(ctx, k); err != nil {
						b.Fatal(err)
					}
				}
				var next, allowed atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						r, err := l.Allow(ctx, keys[next.Add(1)%int64(len(keys))])
						if err != nil {
							b.Error(err)
							return
						}
						if r.Allowed {
							allowed.Add(1)
						}
					}
				})
				b.ReportMetric(100*float64(allowed.Load())/float64(b.N), "allowed-%")
			})
		}
	}
}

// BenchmarkRateLimiterMemory reports the memory one key takes (MEMORY USAGE
// ... SAMPLES 0, bytes-per-key) after a number of calls inside one window,
// for both kinds of limiter, and times an Allow refused on that full key.
func BenchmarkRateLimiterMemory(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	b.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	for _, v := range []struct {
		name   string
		suffix string
		opts   []RateLimitOption
	}{
		{"log", kindRateLog, nil},
		{"counter", kindRateCount, []RateLimitOption{WithSlidingCounter()}},
	} {
		for _, calls := range []int{10, 100, 128, 129, 1000, 10000} {
			b.Run(v.name+"/calls="+strconv.Itoa(calls), func(b *testing.B) {
				l, err := NewRateLimiter(rdb, calls, time.Hour, v.opts...)
				if err != nil {
					b.Fatal(err)
				}
				key := "bench:memory:" + v.name + ":" + strconv.Itoa(calls)
				if err := l.Reset(ctx, key); err != nil {
					b.Fatal(err)
				}
				for i := range calls {
					if r, err := l.Allow(ctx, key); err != nil || !r.Allowed {
						b.Fatalf("call %d: %+v, %v", i, r, err)
					}
				}
				k := keyspace.Derive(key, v.suffix)
				bytes, err := rdb.MemoryUsage(ctx, k, 0).Result()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if r, err := l.Allow(ctx, key); err != nil || r.Allowed {
						b.Fatalf("call on a full key: %+v, %v", r, err)
					}
				}
				b.ReportMetric(float64(bytes), "bytes/key")
				b.ReportMetric(float64(bytes)/float64(calls), "bytes/call")
			})
		}
	}
}
