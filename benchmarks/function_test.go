package benchmarks

import (
	"context"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// functionKeys are the keys of every function variant: one counter.
var functionKeys = []string{"bench:function"}

// function returns the function called name, from lua/counterlib.lua.
func function(tb testing.TB, name string) *redislua.Function {
	tb.Helper()
	f, err := scripts().Function(name)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// loadFunctions loads the library of lua/counterlib.lua on c's server,
// and sets the counter, which bench_get then finds (a missing key is a
// redis.Nil error).
func loadFunctions(tb testing.TB, c *redis.Client) {
	tb.Helper()
	l, err := scripts().Library("bench")
	if err != nil {
		tb.Fatal(err)
	}
	if err := l.Load(context.Background(), c, nil); err != nil {
		tb.Fatal(err)
	}
	if err := c.Set(context.Background(), functionKeys[0], 0, 0).Err(); err != nil {
		tb.Fatal(err)
	}
}

// functionOp is one function the benchmarks call, with the ways to call
// it: the raw go-redis call first (the base), then Function.Call, which
// sends the same command.
type functionOp struct {
	name     string // the command: fcall or fcall_ro
	variants []variant
}

// functionOps are the ways to call the functions of lua/counterlib.lua,
// loaded on the server: bench_incr (INCRBY, so FCALL) and bench_get (GET,
// no-writes, so FCALL_RO), each raw and through the library.
func functionOps(tb testing.TB, c *redis.Client) []functionOp {
	incr, get := function(tb, "bench_incr"), function(tb, "bench_get")
	return []functionOp{
		{"fcall", []variant{
			{"raw-fcall", func(ctx context.Context) error {
				return c.FCall(ctx, "bench_incr", functionKeys, 1).Err()
			}},
			{"redislua-call", func(ctx context.Context) error {
				return incr.Call(ctx, c, functionKeys, 1).Err()
			}},
		}},
		{"fcall_ro", []variant{
			{"raw-fcall", func(ctx context.Context) error {
				return c.FCallRO(ctx, "bench_get", functionKeys).Err()
			}},
			{"redislua-call", func(ctx context.Context) error {
				return get.Call(ctx, c, functionKeys).Err()
			}},
		}},
	}
}

// BenchmarkFunction measures Function.Call of a loaded function library
// against the raw client.FCall (FCALL_RO: client.FCallRO) it wraps, on one
// redis-server, from one goroutine and from 64 over a pool of 64
// connections: each variant's time, allocations and CPU per call. Their
// throughput ratio comes from BenchmarkFunctionPaired.
func BenchmarkFunction(b *testing.B) {
	srv, c := standalone(b, goroutines)
	ctx := context.Background()
	loadFunctions(b, c)
	info := newClient(b, srv.Addr, 1)
	for _, op := range functionOps(b, c) {
		for _, workers := range []int{1, goroutines} {
			for _, v := range op.variants {
				b.Run("op="+op.name+"/goroutines="+strconv.Itoa(workers)+"/impl="+v.name, func(b *testing.B) {
					b.ReportAllocs()
					m := startCPU(b, info)
					if workers == 1 {
						for b.Loop() {
							if err := v.op(ctx); err != nil {
								b.Fatal(err)
							}
						}
					} else {
						setGoroutines(b, workers)
						b.RunParallel(func(pb *testing.PB) {
							for pb.Next() {
								if err := v.op(ctx); err != nil {
									b.Error(err)
									return
								}
							}
						})
					}
					m.report(b, b.N, 0)
				})
			}
		}
	}
}

// BenchmarkFunctionPaired measures the variants of BenchmarkFunction as
// paired benchmarks (see runPaired): x-redislua-call is Function.Call's
// throughput over the raw call's, measured in the same slices of time.
func BenchmarkFunctionPaired(b *testing.B) {
	srv, c := standalone(b, goroutines)
	loadFunctions(b, c)
	info := newClient(b, srv.Addr, 1)
	for _, op := range functionOps(b, c) {
		for _, workers := range []int{1, goroutines} {
			b.Run("op="+op.name+"/goroutines="+strconv.Itoa(workers), func(b *testing.B) {
				runPaired(b, workers, 500, asPaired(op.variants), info)
			})
		}
	}
}

// TestFunctionVariants checks that both variants of each function do the
// same work with the same one command: FCALL (FCALL_RO for bench_get).
func TestFunctionVariants(t *testing.T) {
	srv, c := standalone(t, 0)
	ctx := context.Background()
	loadFunctions(t, c)
	var sent roundTrips
	c.AddHook(sent.hook(srv.Addr))
	for _, op := range functionOps(t, c) {
		for _, v := range op.variants {
			before, err := c.Get(ctx, functionKeys[0]).Int()
			if err != nil {
				t.Fatal(err)
			}
			sent.take()
			if err := v.op(ctx); err != nil {
				t.Fatalf("%s/%s: %v", op.name, v.name, err)
			}
			trips := sent.take()
			if len(trips) != 1 || len(trips[0].cmds) != 1 || trips[0].cmds[0] != op.name {
				t.Errorf("%s/%s sent %v, want one %s", op.name, v.name, trips, op.name)
			}
			want := before
			if op.name == "fcall" {
				want++
			}
			if after, err := c.Get(ctx, functionKeys[0]).Int(); err != nil || after != want {
				t.Errorf("%s/%s: counter went from %d to %d (%v), want %d", op.name, v.name, before, after, err, want)
			}
		}
	}
}
