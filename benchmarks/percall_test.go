package benchmarks

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

// perCallKeys are the keys of every per-call variant: one counter.
var perCallKeys = []string{"bench:percall"}

// perCallVariants are the ways to run lua/incr.lua once, with the script
// cached: the raw go-redis call, redislua's Script.Run and go-redis's own
// Script.Run, which sends the same EVALSHA.
func perCallVariants(c *redis.Client) []variant {
	s := script("incr")
	sha := s.SHA()
	gs := redis.NewScript(s.Source())
	return []variant{
		{"raw-evalsha", func(ctx context.Context) error {
			return c.EvalSha(ctx, sha, perCallKeys, 1).Err()
		}},
		{"redislua-run", func(ctx context.Context) error {
			return s.Run(ctx, c, perCallKeys, 1).Err()
		}},
		{"goredis-script-run", func(ctx context.Context) error {
			return gs.Run(ctx, c, perCallKeys, 1).Err()
		}},
	}
}

// variant is one way of doing what a benchmark measures.
type variant struct {
	name string
	op   func(ctx context.Context) error
}

// BenchmarkPerCall measures the library's own cost per call (target 1):
// Script.Run of a cached script against the raw client.EvalSha it wraps and
// against go-redis's Script.Run, from 64 goroutines over a pool of 64
// connections, on one redis-server. The redis-benchmark row sends the same
// EVALSHA from 64 connections, without a pipeline: the most this server
// does with that concurrency, from a client written in C.
func BenchmarkPerCall(b *testing.B) {
	srv, c := standalone(b, goroutines)
	ctx := context.Background()
	if err := script("incr").Load(ctx, c); err != nil {
		b.Fatal(err)
	}
	info := newClient(b, srv.Addr, 1)
	for _, v := range perCallVariants(c) {
		b.Run("impl="+v.name, func(b *testing.B) {
			b.ReportAllocs()
			setGoroutines(b, goroutines)
			m := startCPU(b, info)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := v.op(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
			m.report(b, b.N, 0)
		})
	}
	b.Run("impl=redis-benchmark", func(b *testing.B) {
		rb := redisBenchmark{conns: goroutines, pipeline: 1,
			args: []string{"evalsha", script("incr").SHA(), "1", perCallKeys[0], "1"}}
		benchRedisBenchmark(b, srv, rb, 1)
	})
}

func TestPerCallVariants(t *testing.T) {
	_, c := standalone(t, 0)
	ctx := context.Background()
	if err := script("incr").Load(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, v := range perCallVariants(c) {
		before, _ := c.Get(ctx, perCallKeys[0]).Int()
		if err := v.op(ctx); err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if after, err := c.Get(ctx, perCallKeys[0]).Int(); err != nil || after != before+1 {
			t.Errorf("%s: counter went from %d to %d (%v), want +1", v.name, before, after, err)
		}
	}
}
