package redislua

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// BenchmarkRunOnCluster compares Script.Run on a ClusterClient, which
// checks that the client's nodes have the reply hooks (cluster_guard.go),
// with the raw go-redis EvalSha it wraps.
func BenchmarkRunOnCluster(b *testing.B) {
	cc := redistest.SharedCluster(b).Client(b)
	ctx := context.Background()
	s := MustNewScript("incr", incrSrc)
	if err := s.Load(ctx, cc); err != nil {
		b.Fatal(err)
	}
	keys := []string{"{bench-once}"}
	for _, bm := range []struct {
		name string
		run  func() *redis.Cmd
	}{
		{"raw-evalsha", func() *redis.Cmd { return cc.EvalSha(ctx, s.SHA(), keys, 1) }},
		{"script-run", func() *redis.Cmd { return s.Run(ctx, cc, keys, 1) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := bm.run().Err(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkGuardCluster measures what Run adds per call on a
// ClusterClient whose nodes have the reply hooks: one look-up.
func BenchmarkGuardCluster(b *testing.B) {
	cc := redistest.SharedCluster(b).Client(b)
	ctx := context.Background()
	if err := guardCluster(ctx, cc); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := guardCluster(ctx, cc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
