package redislua

import (
	"context"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// BenchmarkRingPipeline40k sends one pipeline of 40,000 calls, each on a
// key of its own, through a Ring of three redis-servers, without the hook
// (a plain EVAL per call) and with OptimizePipelines. One op is one
// pipeline; evals/op counts the calls sent as EVAL.
func BenchmarkRingPipeline40k(b *testing.B) {
	const calls = 40000
	ctx := context.Background()
	addrs := map[string]string{}
	for _, name := range []string{"one", "two", "three"} {
		addrs[name] = redistest.Start(b).Addr
	}
	s := MustNewScript("incr", incrSrc)
	keys := make([]string, calls)
	for i := range keys {
		keys[i] = "ring40k:" + strconv.Itoa(i)
	}
	for _, optimized := range []bool{false, true} {
		name := "impl=plain-eval"
		if optimized {
			name = "impl=optimized"
		}
		b.Run(name, func(b *testing.B) {
			ring := redis.NewRing(&redis.RingOptions{Addrs: addrs})
			b.Cleanup(func() { _ = ring.Close() })
			if optimized {
				if err := OptimizePipelines(ring); err != nil {
					b.Fatal(err)
				}
			}
			evals := 0
			b.ReportAllocs()
			for b.Loop() {
				pipe := ring.Pipeline()
				cmds := make([]*redis.Cmd, calls)
				for i, k := range keys {
					cmds[i] = s.Run(ctx, pipe, []string{k}, 1)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					b.Fatal(err)
				}
				evals += countNames(cmds)["eval"]
			}
			b.ReportMetric(float64(evals)/float64(b.N), "evals/op")
		})
	}
}
