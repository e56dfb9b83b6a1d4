package benchmarks

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

const (
	pipelineCalls      = 100 // calls per pipeline
	pipelineGoroutines = 8   // goroutines sending pipelines
	pipelineTags       = 10  // hash tags the calls of a pipeline spread over
)

// pipelineKeys are the keys of the calls of one pipeline, in order: call i
// uses hash tag i mod 10, so that on a cluster a pipeline reaches all three
// masters and holds 10 slots. With OptimizePipelines every call is an
// EVALSHA, after one SCRIPT LOAD per node (one per pipeline on one server).
var pipelineKeys = func() [][]string {
	keys := make([][]string, pipelineCalls)
	for i := range keys {
		keys[i] = []string{"{bench-pipe-" + strconv.Itoa(i%pipelineTags) + "}:quota"}
	}
	return keys
}()

// untaggedPipelineKeys are 100 keys without hash tags, one per call: on a
// cluster about 100 slots, as a pipeline over many users' keys has (a
// per-slot "first call" would send nearly every call as EVAL; per node it
// is still 3 SCRIPT LOADs).
var untaggedPipelineKeys = func() [][]string {
	keys := make([][]string, pipelineCalls)
	for i := range keys {
		keys[i] = []string{"bench-pipe-user-" + strconv.Itoa(i) + ":quota"}
	}
	return keys
}()

// pipelineClients are a client with OptimizePipelines and one without, on
// the same server or cluster.
type pipelineClients struct {
	plain, optimized redis.UniversalClient
}

// pipelineVariant queues one pipeline's calls and says whether the script
// cache is flushed before each pipeline.
type pipelineVariant struct {
	name   string
	client redis.UniversalClient
	flush  bool
	queue  func(ctx context.Context, p redis.Pipeliner, keys []string)
	// preload loads the script before the variant runs: the ideal EVALSHA
	// pipeline needs it; the others must not depend on it.
	preload bool
	// keys are the keys of the pipeline's calls, in order.
	keys [][]string
}

func pipelineVariants(c pipelineClients, keys [][]string) []pipelineVariant {
	s := script("quota")
	sha := s.SHA()
	run := func(ctx context.Context, p redis.Pipeliner, keys []string) { s.Run(ctx, p, keys, 1) }
	return []pipelineVariant{
		{name: "plain-eval", client: c.plain, queue: run, keys: keys},
		{name: "optimized", client: c.optimized, queue: run, keys: keys},
		{name: "optimized-flush-each", client: c.optimized, flush: true, queue: run, keys: keys},
		{name: "ideal-evalsha-preloaded", client: c.plain, preload: true, keys: keys,
			queue: func(ctx context.Context, p redis.Pipeliner, keys []string) { p.EvalSha(ctx, sha, keys, 1) }},
	}
}

// runPipeline sends one pipeline of v and returns the number of calls
// that failed with NOSCRIPT, and the first other error.
func (v pipelineVariant) runPipeline(ctx context.Context) (noscript int, err error) {
	if v.flush {
		if err := v.client.ScriptFlush(ctx).Err(); err != nil {
			return 0, err
		}
	}
	p := v.client.Pipeline()
	for _, keys := range v.keys {
		v.queue(ctx, p, keys)
	}
	cmds, _ := p.Exec(ctx)
	for _, cmd := range cmds {
		switch e := cmd.Err(); {
		case isNoScript(e):
			noscript++
		case e != nil && err == nil:
			err = e
		}
	}
	return noscript, err
}

func (v pipelineVariant) prepare(ctx context.Context, tb testing.TB) {
	tb.Helper()
	if err := v.client.ScriptFlush(ctx).Err(); err != nil {
		tb.Fatal(err)
	}
	if v.preload {
		if err := script("quota").Load(ctx, v.client); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkPipeline measures 100-call pipelines of a 2 KiB script
// (lua/quota.lua) sent by 8 goroutines (target 2), on one redis-server and
// on a cluster of 3 masters: Run without the hook (a plain EVAL per call),
// Run with OptimizePipelines, the same with SCRIPT FLUSH (on every node)
// before every pipeline, and the ideal, raw EVALSHA on a preloaded cache.
// noscript/op counts the calls that failed with NOSCRIPT (any other error
// fails the benchmark). On one server, redis-benchmark sends the same
// EVALSHA over 8 connections 100 deep: the ceiling (target 5).
//
// One op is one pipeline of 100 calls.
func BenchmarkPipeline(b *testing.B) {
	ctx := context.Background()
	b.Run("topology=standalone", func(b *testing.B) {
		srv, plain := standalone(b, 2*pipelineGoroutines)
		optimized := newClient(b, srv.Addr, 2*pipelineGoroutines)
		if err := redislua.OptimizePipelines(optimized); err != nil {
			b.Fatal(err)
		}
		benchPipelines(ctx, b, pipelineClients{plain, optimized}, newClient(b, srv.Addr, 1))
		b.Run("impl=redis-benchmark", func(b *testing.B) {
			s := script("quota")
			if err := s.Load(ctx, plain); err != nil {
				b.Fatal(err)
			}
			rb := redisBenchmark{conns: pipelineGoroutines, pipeline: pipelineCalls,
				args: []string{"evalsha", s.SHA(), "1", pipelineKeys[0][0], "1"}}
			benchRedisBenchmark(b, srv, rb, pipelineCalls)
		})
	})
	b.Run("topology=cluster", func(b *testing.B) {
		cl, plain := cluster(b, 0, 2*pipelineGoroutines)
		optimized := newClusterClient(b, cl.Addrs(), 2*pipelineGoroutines)
		if err := redislua.OptimizePipelines(optimized); err != nil {
			b.Fatal(err)
		}
		benchPipelines(ctx, b, pipelineClients{plain, optimized}, masterClients(b, plain)...)
	})
}

// benchPipelines runs every pipeline variant on c; servers are clients of
// the servers, for the CPU they use.
func benchPipelines(ctx context.Context, b *testing.B, c pipelineClients, servers ...*redis.Client) {
	for _, v := range pipelineVariants(c, pipelineKeys) {
		b.Run("impl="+v.name, func(b *testing.B) {
			v.prepare(ctx, b)
			var noscript atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(pipelineGoroutines / min(pipelineGoroutines, runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			m := startCPU(b, servers...)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n, err := v.runPipeline(ctx)
					noscript.Add(int64(n))
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			m.report(b, b.N, 0)
			b.ReportMetric(float64(noscript.Load())/float64(b.N), "noscript/op")
		})
	}
}

func TestPipelineVariants(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, c pipelineClients) {
		for _, v := range pipelineVariants(c, pipelineKeys) {
			v.prepare(ctx, t)
			for i := range 2 { // the second pipeline finds the cache warm, unless flushed
				noscript, err := v.runPipeline(ctx)
				if err != nil || noscript != 0 {
					t.Errorf("%s, pipeline %d: %d NOSCRIPT, error %v; want none", v.name, i+1, noscript, err)
				}
			}
		}
		// Without the hook, EVALSHA after a flush fails: the count is real.
		ideal := pipelineVariants(c, pipelineKeys)[3]
		ideal.preload, ideal.flush = false, true
		if noscript, _ := ideal.runPipeline(ctx); noscript != pipelineCalls {
			t.Errorf("raw EVALSHA after a flush: %d NOSCRIPT, want %d", noscript, pipelineCalls)
		}
	}
	t.Run("standalone", func(t *testing.T) {
		srv, plain := standalone(t, 0)
		optimized := newClient(t, srv.Addr, 0)
		if err := redislua.OptimizePipelines(optimized); err != nil {
			t.Fatal(err)
		}
		check(t, pipelineClients{plain, optimized})
	})
	t.Run("cluster", func(t *testing.T) {
		cl, plain := cluster(t, 0, 0)
		optimized := newClusterClient(t, cl.Addrs(), 0)
		if err := redislua.OptimizePipelines(optimized); err != nil {
			t.Fatal(err)
		}
		check(t, pipelineClients{plain, optimized})
	})
}
