package benchmarks

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/redistest"
)

// BenchmarkTargets measures the throughput ratios that the performance
// targets are stated in, each as a paired benchmark (see runPaired): the
// first variant is the base, and x-NAME is NAME's throughput over the
// base's, measured in the same slices of time. The per-variant benchmarks
// (BenchmarkPerCall, BenchmarkPipeline, ...) give the allocations and CPU
// time of the same variants.
func BenchmarkTargets(b *testing.B) {
	b.Run("target=1-per-call", benchTargetPerCall)
	b.Run("target=2-pipeline/topology=standalone", func(b *testing.B) { benchTargetPipeline(b, false, pipelineKeys) })
	b.Run("target=2-pipeline/topology=cluster", func(b *testing.B) { benchTargetPipeline(b, true, pipelineKeys) })
	b.Run("target=2-pipeline/topology=cluster-untagged", func(b *testing.B) { benchTargetPipeline(b, true, untaggedPipelineKeys) })
	b.Run("target=4-lock", benchTargetLock)
	for _, r := range rateRegimes {
		b.Run("target=4-ratelimit/regime="+r.name, func(b *testing.B) { benchTargetRateLimiter(b, r, false) })
	}
	for _, r := range rateRegimes {
		b.Run("target=4-ratelimit-autopipeline/regime="+r.name, func(b *testing.B) { benchTargetRateLimiter(b, r, true) })
	}
}

// asPaired turns variants that ignore the worker into paired variants.
func asPaired(vs []variant) []pairedVariant {
	out := make([]pairedVariant, len(vs))
	for i, v := range vs {
		out[i] = pairedVariant{name: v.name, op: func(ctx context.Context, _ int) error { return v.op(ctx) }}
	}
	return out
}

// Target 1: Script.Run against raw EvalSha and go-redis's Script.Run, 64
// goroutines.
func benchTargetPerCall(b *testing.B) {
	srv, c := standalone(b, goroutines)
	if err := script("incr").Load(context.Background(), c); err != nil {
		b.Fatal(err)
	}
	runPaired(b, goroutines, 500, asPaired(perCallVariants(c)), newClient(b, srv.Addr, 1))
}

// Target 2 (and 5 on one server): 100-call pipelines from 8 goroutines,
// against the ideal EVALSHA pipeline and redis-benchmark's.
func benchTargetPipeline(b *testing.B, clustered bool, keys [][]string) {
	ctx := context.Background()
	var (
		c   pipelineClients
		srv *redistest.Server
	)
	if clustered {
		cl, plain := cluster(b, 0, 2*pipelineGoroutines)
		optimized := newClusterClient(b, cl.Addrs(), 2*pipelineGoroutines)
		if err := redislua.OptimizePipelines(optimized); err != nil {
			b.Fatal(err)
		}
		c = pipelineClients{plain, optimized}
	} else {
		var plain *redis.Client
		srv, plain = standalone(b, 2*pipelineGoroutines)
		optimized := newClient(b, srv.Addr, 2*pipelineGoroutines)
		if err := redislua.OptimizePipelines(optimized); err != nil {
			b.Fatal(err)
		}
		c = pipelineClients{plain, optimized}
	}
	// Every slice ends with the script cached (each pipeline of the
	// variants other than the ideal starts with an EVAL or SCRIPT LOAD of
	// it, and a flush comes only before a pipeline), so the ideal always
	// finds it loaded.
	if err := script("quota").Load(ctx, c.plain); err != nil {
		b.Fatal(err)
	}
	var variants []pairedVariant
	all := pipelineVariants(c, keys)
	ideal := all[3]
	for _, v := range append([]pipelineVariant{ideal}, all[:3]...) {
		variants = append(variants, pairedVariant{name: v.name, op: func(ctx context.Context, _ int) error {
			noscript, err := v.runPipeline(ctx)
			if err == nil && noscript > 0 {
				err = fmt.Errorf("%d calls failed with NOSCRIPT", noscript)
			}
			return err
		}})
	}
	if !clustered {
		rb := redisBenchmark{conns: pipelineGoroutines, pipeline: pipelineCalls,
			args: []string{"evalsha", script("quota").SHA(), "1", pipelineKeys[0][0], "1"}}
		// redis-benchmark's throughput over a few thousand commands is
		// mostly its start; it runs 20,000 per slice, timed per command.
		variants = append(variants, pairedVariant{name: "redis-benchmark", slice: func(tb testing.TB, ops int) time.Duration {
			_, rps, _ := rb.run(tb, srv, max(ops*pipelineCalls, 20000))
			return time.Duration(float64(ops*pipelineCalls) / rps * float64(time.Second))
		}})
	}
	runPaired(b, pipelineGoroutines, 25, variants)
}

// Target 4: a lock's acquire+release, with and without fencing tokens,
// against redislock's, 64 goroutines each on its own key.
func benchTargetLock(b *testing.B) {
	srv, c := standalone(b, goroutines)
	var variants []pairedVariant
	impls := lockImpls(c)
	for _, impl := range []lockImpl{impls[1], impls[0], impls[2]} { // redislock first: the base
		keys := make([]string, goroutines)
		for w := range keys {
			keys[w] = "bench:target-lock:" + impl.name + ":{" + strconv.Itoa(w) + "}"
		}
		variants = append(variants, pairedVariant{name: impl.name, op: func(ctx context.Context, w int) error {
			return impl.cycle(ctx, keys[w])
		}})
	}
	runPaired(b, goroutines, 250, variants, newClient(b, srv.Addr, 1))
}

// Target 4: ratelimit.Limiter.Allow against redis_rate's, 64 goroutines over 100
// keys; on a plain client, or, with ap, both through the client's
// AutoPipeliner, where the client's cost per call is smaller and the
// ratios come closer to the servers' time per call.
func benchTargetRateLimiter(b *testing.B, r rateRegime, ap bool) {
	srv, c := standalone(b, goroutines)
	var rc rateClient = c
	if ap {
		p, err := c.AutoPipeline()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = p.Close() })
		rc = p
	}
	impls := rateImpls(b, rc, r)
	var variants []pairedVariant
	for _, impl := range []rateImpl{impls[3], impls[0], impls[1], impls[2]} { // redis_rate first: the base
		variants = append(variants, pairedVariant{name: impl.name, op: func(ctx context.Context, w int) error {
			_, err := impl.allow(ctx, rateKeys[w%len(rateKeys)])
			return err
		}})
	}
	runPaired(b, goroutines, 500, variants, newClient(b, srv.Addr, 1))
}
