package redislua

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// BenchmarkLock measures Lock on a real redis-server: an uncontended
// acquire+release (two round trips) from one goroutine and from many on
// their own keys, many goroutines contending for one key, and the latency
// of a hand-off, from Release to the waiter's Acquire returning.
func BenchmarkLock(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	b.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	for _, s := range []*Script{lockAcquire, lockRelease} {
		if err := s.Load(ctx, rdb); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("uncontended", func(b *testing.B) {
		b.ReportAllocs()
		l := NewLock(rdb, "bench:{one}", nil)
		for b.Loop() {
			if err := l.Acquire(ctx); err != nil {
				b.Fatal(err)
			}
			if err := l.Release(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("uncontended-parallel", func(b *testing.B) {
		b.ReportAllocs()
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			l := NewLock(rdb, "bench:{own-"+strconv.FormatInt(n.Add(1), 10)+"}", nil)
			for pb.Next() {
				if err := l.Acquire(ctx); err != nil {
					b.Fatal(err)
				}
				if err := l.Release(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	})

	b.Run("contended-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(4) // 4 goroutines per core
		b.RunParallel(func(pb *testing.PB) {
			l := NewLock(rdb, "bench:{shared}", nil)
			for pb.Next() {
				if err := l.Acquire(ctx); err != nil {
					b.Fatal(err)
				}
				if err := l.Release(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	})

	b.Run("handoff", func(b *testing.B) {
		holder := NewLock(rdb, "bench:{handoff}", nil)
		var total time.Duration
		for b.Loop() {
			if err := holder.Acquire(ctx); err != nil {
				b.Fatal(err)
			}
			settled := make(chan struct{})
			waiter := NewLock(rdb, "bench:{handoff}", &LockOptions{Retry: notifyRetry{LinearRetry(time.Minute), 2, settled}})
			done := make(chan error, 1)
			go func() { done <- waiter.Acquire(ctx) }()
			<-settled
			start := time.Now()
			if err := holder.Release(ctx); err != nil {
				b.Fatal(err)
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
			if err := waiter.Release(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(total.Microseconds())/float64(b.N), "handoff-µs")
	})
}
