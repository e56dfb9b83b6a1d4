package redislua

import (
	"context"
	"strconv"
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

// BenchmarkCheckSlots measures the slot check Run makes on a cluster, by
// number of keys: it must stay a few ns per key with no allocation.
func BenchmarkCheckSlots(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = "{tenant42}:item:" + strconv.Itoa(i)
		}
		b.Run(strconv.Itoa(n)+"-keys", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := CheckSlots(keys...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
