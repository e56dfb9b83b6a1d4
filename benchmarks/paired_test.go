package benchmarks

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// A paired benchmark measures the throughput ratio of variants under the
// same conditions: it alternates short slices of each variant (about
// 10-30 ms: ops operations over a fixed number of goroutines), in a new
// random order every round, so that a burst of load from other work on
// this shared machine falls on every variant alike, and no variant always
// follows the same one (a rotation keeps the cyclic order, and moved the
// ratio of two variants by 5-15% against a shuffle). Sub-benchmarks run one
// after another and each sees its own part of that load; their ratios
// swing by tens of percent, the paired ones by a few.
//
// One benchmark iteration is one round: one slice of every variant.

// pairedOp is one operation of a variant, run by goroutine worker.
type pairedOp func(ctx context.Context, worker int) error

// pairedVariant is one of the variants a paired benchmark alternates.
type pairedVariant struct {
	name string
	op   pairedOp
	// slice, if set, replaces the in-process slice: it runs ops
	// operations its own way (redis-benchmark) and returns their time.
	slice func(tb testing.TB, ops int) time.Duration
}

// runPaired runs b.N rounds and reports, for every variant after the
// first, its throughput as a multiple of the first's ("x-NAME", higher is
// better): the median over the rounds of the ratio of the two variants'
// slice times, which a burst of load during a few slices does not move.
// It also reports each variant's mean time per operation ("µs/op-NAME")
// and, given the servers, the median time per operation the servers
// spent running scripts ("script-µs/op-NAME", see cpuMeter).
func runPaired(b *testing.B, workers, ops int, variants []pairedVariant, servers ...*redis.Client) {
	ctx := context.Background()
	times := make([][]time.Duration, len(variants)) // [variant][round]
	scripts := make([][]float64, len(variants))     // [variant][round], µs/op
	rounds := 0
	for b.Loop() {
		for _, j := range rand.Perm(len(variants)) {
			var before time.Duration
			if len(servers) > 0 {
				_, before = serversCPU(b, servers)
			}
			d, err := variants[j].run(ctx, b, workers, ops)
			if err != nil {
				b.Fatalf("%s: %v", variants[j].name, err)
			}
			times[j] = append(times[j], d)
			if len(servers) > 0 {
				_, after := serversCPU(b, servers)
				scripts[j] = append(scripts[j], float64((after-before).Nanoseconds())/1e3/float64(ops))
			}
		}
		rounds++
	}
	for i, v := range variants {
		var total time.Duration
		for _, d := range times[i] {
			total += d
		}
		b.ReportMetric(float64(total.Nanoseconds())/1e3/float64(rounds*ops), "µs/op-"+v.name)
		if len(servers) > 0 {
			b.ReportMetric(median(scripts[i]), "script-µs/op-"+v.name)
		}
		if i > 0 {
			ratios := make([]float64, rounds)
			for r := range ratios {
				ratios[r] = float64(times[0][r]) / float64(times[i][r])
			}
			b.ReportMetric(median(ratios), "x-"+v.name)
		}
	}
}

// median returns the median of xs, which it sorts.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// run runs one slice of v: ops operations over workers goroutines, and
// returns the time they took.
func (v pairedVariant) run(ctx context.Context, tb testing.TB, workers, ops int) (time.Duration, error) {
	if v.slice != nil {
		return v.slice(tb, ops), nil
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(ops) {
				if err := v.op(ctx, w); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), firstErr
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median = %v, want %v", got, c.want)
		}
	}
}
