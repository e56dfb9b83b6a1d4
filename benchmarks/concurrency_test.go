package benchmarks

import (
	"context"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/redislua/redislua/internal/redistest"
)

// concurrencyLevels are the goroutine counts of BenchmarkConcurrency, each
// with the number of calls in one slice of a variant: about 32 calls per
// goroutine, so that the ramp-up and drain at a slice's ends stay small.
var concurrencyLevels = []struct{ goroutines, ops int }{
	{1, 500}, {8, 2000}, {64, 4000}, {256, 8192},
}

// concurrencyKeyCount is how many counters the calls spread over: goroutine
// w increments bench:concurrency:<w mod concurrencyKeyCount>.
const concurrencyKeyCount = 64

// concurrencyKeys holds each counter's key as the one-key slice a call
// passes, built once so that no variant builds it per call.
var concurrencyKeys = func() [][]string {
	keys := make([][]string, concurrencyKeyCount)
	for i := range keys {
		keys[i] = []string{fmt.Sprintf("bench:concurrency:%012d", i)}
	}
	return keys
}()

// concurrencyClients are the clients of one BenchmarkConcurrency level.
type concurrencyClients struct {
	srv   *redistest.Server
	plain *redis.Client        // PoolSize = goroutines
	ap    *redis.AutoPipeliner // c.AutoPipeline() of a client of its own
	async *redis.AutoPipeliner // the same client's AsyncAutoPipeline()
	rue   rueidis.Client       // rueidis defaults, without client-side caching
	conns int                  // redis-benchmark's -c: the goroutine count
	// cancellable is a context that can end (and does, at the end of the
	// benchmark), as a request's can: redislua waits for a reply through
	// the blocking AutoPipeliner beside a goroutine of its own then, and
	// through the async one with the AutoFuture's WaitContext.
	cancellable context.Context
}

// newConcurrencyClients starts a redis-server and the clients of every
// variant for the given number of goroutines, with lua/incr.lua loaded.
func newConcurrencyClients(tb testing.TB, goroutines int) concurrencyClients {
	tb.Helper()
	// One connection per goroutine: no call waits for the pool.
	srv, plain := standalone(tb, goroutines)
	// The autopipeliner's batches use the client's pipeline pool (10
	// connections by default, one in use at a time with the default
	// MaxConcurrentBatches of 1), not PoolSize.
	apClient := newClient(tb, srv.Addr, goroutines)
	ap, err := apClient.AutoPipeline()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ap.Close() })
	async, err := apClient.AsyncAutoPipeline()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = async.Close() })
	// rueidis pipelines every call on its shared connections by default;
	// client-side caching is off because no call here reads through it.
	rue, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(rue.Close)
	if err := script("incr").Load(context.Background(), plain); err != nil {
		tb.Fatal(err)
	}
	cancellable, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	return concurrencyClients{srv: srv, plain: plain, ap: ap, rue: rue, conns: goroutines, cancellable: cancellable, async: async}
}

// concurrencyVariant is a variant of BenchmarkConcurrency. Exactly one of
// op and external is set: external runs ops calls its own way
// (redis-benchmark) and returns their time and the latency percentiles it
// measured itself.
type concurrencyVariant struct {
	name     string
	op       pairedOp
	external func(tb testing.TB, ops int) (d time.Duration, p50, p99 time.Duration)
	// control marks a second copy of another variant: its ratio to the
	// original shows how far two identical variants drift apart in one
	// run, the noise floor of the other ratios.
	control bool
}

// concurrencyVariants are the ways to run lua/incr.lua, cached, on goroutine
// w's counter: raw EvalSha and redislua's Script.Run on a plain client and
// through go-redis's AutoPipeliner (Script.Run also with a context that
// can end, on the blocking and the async face), rueidis's Lua.Exec, and
// redis-benchmark sending the same EVALSHA from one connection per
// goroutine; and a second copy of each raw EvalSha as a control.
func concurrencyVariants(c concurrencyClients) []concurrencyVariant {
	s := script("incr")
	sha := s.SHA()
	rs := rueidis.NewLuaScript(s.Source())
	rueArgs := []string{"1"}
	rb := redisBenchmark{conns: c.conns, pipeline: 1, randomKeys: concurrencyKeyCount,
		args: []string{"evalsha", sha, "1", "bench:concurrency:__rand_int__", "1"}}
	raw := func(ctx context.Context, w int) error {
		return c.plain.EvalSha(ctx, sha, concurrencyKeys[w%concurrencyKeyCount], 1).Err()
	}
	rawAP := func(ctx context.Context, w int) error {
		return c.ap.EvalSha(ctx, sha, concurrencyKeys[w%concurrencyKeyCount], 1).Err()
	}
	return []concurrencyVariant{
		{name: "raw-evalsha", op: raw},
		{name: "raw-evalsha-again", op: raw, control: true},
		{name: "redislua-run", op: func(ctx context.Context, w int) error {
			return s.Run(ctx, c.plain, concurrencyKeys[w%concurrencyKeyCount], 1).Err()
		}},
		{name: "raw-evalsha-ap", op: rawAP},
		{name: "raw-evalsha-ap-again", op: rawAP, control: true},
		{name: "redislua-run-ap", op: func(ctx context.Context, w int) error {
			return s.Run(ctx, c.ap, concurrencyKeys[w%concurrencyKeyCount], 1).Err()
		}},
		{name: "redislua-run-ap-cancellable", op: func(_ context.Context, w int) error {
			return s.Run(c.cancellable, c.ap, concurrencyKeys[w%concurrencyKeyCount], 1).Err()
		}},
		{name: "redislua-run-async-ap-cancellable", op: func(_ context.Context, w int) error {
			return s.Run(c.cancellable, c.async, concurrencyKeys[w%concurrencyKeyCount], 1).Err()
		}},
		{name: "rueidis", op: func(ctx context.Context, w int) error {
			return rs.Exec(ctx, c.rue, concurrencyKeys[w%concurrencyKeyCount], rueArgs).Error()
		}},
		{name: "redis-benchmark", external: func(tb testing.TB, ops int) (time.Duration, time.Duration, time.Duration) {
			_, row, _ := rb.runCSV(tb, c.srv, max(ops, redisBenchmarkMinCalls))
			ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
			return time.Duration(float64(ops) / row["rps"] * float64(time.Second)), ms(row["p50_latency_ms"]), ms(row["p99_latency_ms"])
		}},
	}
}

// redisBenchmarkMinCalls is the fewest calls a redis-benchmark slice
// sends: its throughput over fewer is mostly its start. The slice's time
// is that of ops calls at the throughput it reports.
const redisBenchmarkMinCalls = 5000

// concurrencyRatios are the throughput ratios the concurrency targets are
// stated in, and the controls': NUM's throughput over DEN's, in the same
// rounds.
var concurrencyRatios = []struct{ num, den string }{
	{"raw-evalsha-again", "raw-evalsha"},
	{"raw-evalsha-ap-again", "raw-evalsha-ap"},
	{"redislua-run", "raw-evalsha"},
	{"redislua-run-ap", "raw-evalsha-ap"},
	{"redislua-run-ap-cancellable", "redislua-run-ap"},
	{"redislua-run-async-ap-cancellable", "redislua-run-ap"},
	{"redislua-run-ap", "rueidis"},
	{"raw-evalsha-ap", "rueidis"},
}

// BenchmarkConcurrency measures one-key script calls at 1, 8, 64 and 256
// goroutines, as a paired benchmark (see runPaired) whose base is raw
// EvalSha on a plain client. It reports for every variant its throughput
// over the base's (x-NAME), its mean time per call (µs/op-NAME), the 50th
// and 99th percentiles of its calls' latencies (p50-µs-NAME, p99-µs-NAME)
// and the heap allocations of the whole process per call while it ran
// (allocs/op-NAME); and the ratios of concurrencyRatios (x-NUM/DEN).
//
// Every in-process variant times each call with two time.Now() and counts
// it in its goroutine's histogram (latencyHist): the same cost for all.
// redis-benchmark's percentiles are its own, the median over the rounds.
// One benchmark iteration is a round of every variant, so -benchmem's
// B/op and allocs/op are per round: read allocs/op-NAME instead.
func BenchmarkConcurrency(b *testing.B) {
	for _, l := range concurrencyLevels {
		b.Run("goroutines="+strconv.Itoa(l.goroutines), func(b *testing.B) {
			c := newConcurrencyClients(b, l.goroutines)
			runConcurrency(b, l.goroutines, l.ops, concurrencyVariants(c))
		})
	}
}

// runConcurrency is runPaired with latency percentiles and allocations
// per variant: b.N rounds of one slice of every variant, in an order
// shuffled every round. runPaired's rotation keeps the cyclic order, so
// each variant always follows the same one (here redislua-run would always
// follow raw-evalsha, and raw-evalsha redis-benchmark's exit), which
// biased their ratio by several percent.
func runConcurrency(b *testing.B, workers, ops int, variants []concurrencyVariant) {
	ctx := context.Background()
	n := len(variants)
	times := make([][]time.Duration, n) // [variant][round]
	hists := make([][]latencyHist, n)   // [variant][worker]
	extP50 := make([][]float64, n)      // [variant][round], external only
	extP99 := make([][]float64, n)      // [variant][round], external only
	mallocs := make([]uint64, n)        // [variant], summed over the rounds
	slices := make([]pairedVariant, n)
	for i, v := range variants {
		if v.external != nil {
			continue
		}
		hists[i] = make([]latencyHist, workers)
		h := hists[i]
		slices[i] = pairedVariant{name: v.name, op: func(ctx context.Context, w int) error {
			start := time.Now()
			err := v.op(ctx, w)
			h[w].record(time.Since(start))
			return err
		}}
	}
	slice := func(j int) (time.Duration, uint64) {
		v := variants[j]
		if v.external != nil {
			d, p50, p99 := v.external(b, ops)
			extP50[j] = append(extP50[j], p50.Seconds()*1e6)
			extP99[j] = append(extP99[j], p99.Seconds()*1e6)
			return d, 0
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		d, err := slices[j].run(ctx, b, workers, ops)
		runtime.ReadMemStats(&ms)
		if err != nil {
			b.Fatalf("%s: %v", v.name, err)
		}
		return d, ms.Mallocs - before
	}
	// One slice of each first, not counted: connections are dialled and
	// the pools, autopipeliner and rueidis warm up.
	for j := range variants {
		slice(j)
		clear(hists[j])
		extP50[j], extP99[j] = nil, nil
	}
	rounds := 0
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	for b.Loop() {
		rand.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, j := range order {
			d, m := slice(j)
			times[j] = append(times[j], d)
			mallocs[j] += m
		}
		rounds++
	}

	index := make(map[string]int, n)
	ratio := func(num, den int) float64 {
		rs := make([]float64, rounds)
		for r := range rs {
			rs[r] = float64(times[den][r]) / float64(times[num][r])
		}
		return median(rs)
	}
	for i, v := range variants {
		index[v.name] = i
		var total time.Duration
		for _, d := range times[i] {
			total += d
		}
		b.ReportMetric(float64(total.Nanoseconds())/1e3/float64(rounds*ops), "µs/op-"+v.name)
		if i > 0 {
			b.ReportMetric(ratio(i, 0), "x-"+v.name)
		}
		if v.external != nil {
			b.ReportMetric(median(extP50[i]), "p50-µs-"+v.name)
			b.ReportMetric(median(extP99[i]), "p99-µs-"+v.name)
			continue
		}
		var all latencyHist
		for w := range hists[i] {
			all.add(&hists[i][w])
		}
		b.ReportMetric(all.quantile(0.50).Seconds()*1e6, "p50-µs-"+v.name)
		b.ReportMetric(all.quantile(0.99).Seconds()*1e6, "p99-µs-"+v.name)
		b.ReportMetric(float64(mallocs[i])/float64(rounds*ops), "allocs/op-"+v.name)
	}
	for _, r := range concurrencyRatios {
		num, ok1 := index[r.num]
		den, ok2 := index[r.den]
		if ok1 && ok2 {
			b.ReportMetric(ratio(num, den), "x-"+r.num+"/"+r.den)
		}
	}
}

// latencyHist is a histogram of durations in the manner of HDR histograms:
// exact below 64 ns, then 32 buckets per power of two (each at most 1/32
// of its lower bound wide: about 3% resolution), fixed in size, so that
// recording a call is an index computation and an increment.
type latencyHist [latencyBuckets]uint64

// latencyBuckets covers every int64 number of nanoseconds.
const latencyBuckets = 60 * 32

// latencyBucket returns the bucket of ns nanoseconds: below 64, ns itself;
// above, its top 6 bits and their position.
func latencyBucket(ns uint64) int {
	if ns < 64 {
		return int(ns)
	}
	shift := bits.Len64(ns) - 6
	return (shift+1)*32 + int(ns>>shift) - 32
}

// latencyLower returns the smallest number of nanoseconds in bucket i, and
// the bucket's width.
func latencyLower(i int) (lower, width uint64) {
	if i < 64 {
		return uint64(i), 1
	}
	shift := i/32 - 1
	return uint64(i%32+32) << shift, 1 << shift
}

func (h *latencyHist) record(d time.Duration) { h[latencyBucket(uint64(max(d, 0)))]++ }

func (h *latencyHist) add(o *latencyHist) {
	for i, n := range o {
		h[i] += n
	}
}

// quantile returns the middle of the bucket that holds the q-quantile of
// the recorded durations (the smallest d with at least q of them <= d),
// 0 if there are none.
func (h *latencyHist) quantile(q float64) time.Duration {
	var total uint64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q * float64(total))
	if float64(rank) < q*float64(total) || rank == 0 {
		rank++
	}
	var seen uint64
	for i, n := range h {
		seen += n
		if seen >= rank {
			lower, width := latencyLower(i)
			return time.Duration(lower + width/2)
		}
	}
	panic("unreachable")
}

func TestLatencyHist(t *testing.T) {
	// Every bucket's bounds map back to it, and buckets are contiguous.
	for i := range latencyBuckets - 1 {
		lower, width := latencyLower(i)
		if got := latencyBucket(lower); got != i {
			t.Fatalf("latencyBucket(%d) = %d, want %d", lower, got, i)
		}
		if got := latencyBucket(lower + width - 1); got != i {
			t.Fatalf("latencyBucket(%d) = %d, want %d", lower+width-1, got, i)
		}
		if next, _ := latencyLower(i + 1); next != lower+width {
			t.Fatalf("bucket %d ends at %d, bucket %d starts at %d", i, lower+width, i+1, next)
		}
	}
	if got := latencyBucket(1<<63 - 1); got >= latencyBuckets {
		t.Fatalf("latencyBucket(max int64) = %d, want < %d", got, latencyBuckets)
	}
	var h latencyHist
	for us := 1; us <= 100; us++ {
		h.record(time.Duration(us) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Microsecond}, {0.99, 99 * time.Microsecond}, {1, 100 * time.Microsecond}} {
		got := h.quantile(c.q)
		if diff := got - c.want; diff < -c.want/32 || diff > c.want/32 {
			t.Errorf("quantile(%v) = %v, want %v within 1/32", c.q, got, c.want)
		}
	}
}

// TestConcurrencyImpls checks that every variant of BenchmarkConcurrency
// runs the script: one slice of 8 goroutines adds exactly its number of
// calls to the counters, so the benchmark cannot time errors instead.
func TestConcurrencyImpls(t *testing.T) {
	const workers, ops = 8, 400
	c := newConcurrencyClients(t, workers)
	ctx := context.Background()
	total := func() int64 {
		keys, err := c.plain.Keys(ctx, "bench:concurrency:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, k := range keys {
			n, err := c.plain.Get(ctx, k).Int64()
			if err != nil {
				t.Fatal(err)
			}
			sum += n
		}
		return sum
	}
	for _, v := range concurrencyVariants(c) {
		before := total()
		if v.external != nil {
			d, p50, p99 := v.external(t, ops)
			if d <= 0 || p50 <= 0 || p99 < p50 {
				t.Errorf("%s: time %v, p50 %v, p99 %v", v.name, d, p50, p99)
			}
		} else {
			pv := pairedVariant{name: v.name, op: v.op}
			if _, err := pv.run(ctx, t, workers, ops); err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
		}
		want := int64(ops)
		if v.external != nil {
			want = redisBenchmarkMinCalls
		}
		if got := total() - before; got != want {
			t.Errorf("%s: the counters grew by %d, want %d", v.name, got, want)
		}
	}
}

// BenchmarkConcurrencyEach runs each in-process variant of
// BenchmarkConcurrency on its own, for -cpuprofile and -benchmem, which
// see the whole process: go test -bench
// 'ConcurrencyEach/goroutines=8/impl=redislua-run$' -cpuprofile cpu.prof.
// Its times are not paired: compare them with BenchmarkConcurrency's.
func BenchmarkConcurrencyEach(b *testing.B) {
	for _, l := range concurrencyLevels {
		b.Run("goroutines="+strconv.Itoa(l.goroutines), func(b *testing.B) {
			c := newConcurrencyClients(b, l.goroutines)
			for _, v := range concurrencyVariants(c) {
				if v.external != nil || v.control {
					continue
				}
				b.Run("impl="+v.name, func(b *testing.B) {
					benchEach(b, l.goroutines, v.op)
				})
			}
		})
	}
}

// benchEach runs op from the given number of goroutines: in the
// benchmark's own goroutine for one, with RunParallel otherwise.
func benchEach(b *testing.B, goroutines int, op pairedOp) {
	ctx := context.Background()
	b.ReportAllocs()
	if goroutines == 1 {
		for b.Loop() {
			if err := op(ctx, 0); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	setGoroutines(b, goroutines)
	var workers atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		w := int(workers.Add(1) - 1)
		for pb.Next() {
			if err := op(ctx, w); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
