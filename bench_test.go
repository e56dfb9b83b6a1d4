package redislua

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// BenchmarkRun compares Script.Run with a cached script against the raw
// go-redis EvalSha it wraps, on a real redis-server: the difference is the
// library's own per-call cost (time and allocations).
func BenchmarkRun(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	b.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	s := MustNewScript("incr", incrSrc)
	if err := s.Load(ctx, rdb); err != nil {
		b.Fatal(err)
	}
	keys := []string{"bench"}
	b.Run("raw-evalsha", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := rdb.EvalSha(ctx, s.SHA(), keys, 1).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("script-run", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.Run(ctx, rdb, keys, 1).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
