package benchmarks

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/redisluaotel"
)

// observedVariants are Script.Run of a cached script (lua/incr.lua) on
// one client c, observed in turn by each instrumentation:
//
//   - plain: no observer (the base; c keeps the entry of a client that
//     was observed, which costs one lookup, about 15 ns);
//   - otel-noop: redisluaotel with OpenTelemetry's no-op providers, which
//     it recognises and skips;
//   - otel-global-unset: redisluaotel with the global providers, which a
//     program that never configures OpenTelemetry leaves unset: they
//     delegate to no-ops, but could be set at any time, so they are used;
//   - otel-sdk-unsampled: the SDK's tracer with a sampler that drops every
//     span, and the SDK's meter provider recording every measurement;
//   - otel-sdk-sampled: every span sampled and handed to a processor that
//     drops it (the SDK's cost, not an exporter's).
//
// Each variant's first call after another's installs its observer
// (redislua.Observe): the variants share one connection pool, so that
// they differ in nothing else.
func observedVariants(tb testing.TB, c *redis.Client) []variant {
	sdkMeter := func() *sdkmetric.MeterProvider {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tb.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
		return mp
	}
	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	sampled := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(discardingProcessor{}))
	tb.Cleanup(func() {
		_ = unsampled.Shutdown(context.Background())
		_ = sampled.Shutdown(context.Background())
	})
	observer := func(opts *redisluaotel.Options) redislua.Observer {
		if opts == nil {
			return nil
		}
		o, err := redisluaotel.New(opts)
		if err != nil {
			tb.Fatal(err)
		}
		return o
	}
	var active atomic.Int32 // the variant whose observer is installed, plus 1
	run := func(id int32, o redislua.Observer) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			if active.Load() != id {
				if err := redislua.Observe(c, o); err != nil {
					return err
				}
				active.Store(id)
			}
			return script("incr").Run(ctx, c, perCallKeys, 1).Err()
		}
	}
	return []variant{
		{"plain", run(1, observer(nil))},
		{"otel-noop", run(2, observer(&redisluaotel.Options{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider()}))},
		{"otel-global-unset", run(5, observer(&redisluaotel.Options{}))},
		{"otel-sdk-unsampled", run(3, observer(&redisluaotel.Options{TracerProvider: unsampled, MeterProvider: sdkMeter()}))},
		{"otel-sdk-sampled", run(4, observer(&redisluaotel.Options{TracerProvider: sampled, MeterProvider: sdkMeter()}))},
	}
}

// discardingProcessor is a span processor that drops ended spans: the
// SDK's work for a sampled span without an exporter's.
type discardingProcessor struct{}

func (discardingProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discardingProcessor) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discardingProcessor) Shutdown(context.Context) error                  { return nil }
func (discardingProcessor) ForceFlush(context.Context) error                { return nil }

// BenchmarkObserved measures each instrumentation variant's time and
// allocations per call, from one goroutine and from 64.
func BenchmarkObserved(b *testing.B) {
	srv, _ := standalone(b, 0)
	ctx := context.Background()
	for _, workers := range []int{1, goroutines} {
		c := newClient(b, srv.Addr, workers)
		if err := script("incr").Load(ctx, c); err != nil {
			b.Fatal(err)
		}
		for _, v := range observedVariants(b, c) {
			b.Run("goroutines="+strconv.Itoa(workers)+"/impl="+v.name, func(b *testing.B) {
				b.ReportAllocs()
				if workers == 1 {
					for b.Loop() {
						if err := v.op(ctx); err != nil {
							b.Fatal(err)
						}
					}
					return
				}
				setGoroutines(b, workers)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := v.op(ctx); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkObservedPaired gives the throughput of each instrumented
// variant as a multiple of the plain client's (x-otel-noop: target at
// least 0.97), measured in the same slices of time (see runPaired).
func BenchmarkObservedPaired(b *testing.B) {
	srv, _ := standalone(b, 0)
	for _, workers := range []int{1, goroutines} {
		c := newClient(b, srv.Addr, workers)
		if err := script("incr").Load(context.Background(), c); err != nil {
			b.Fatal(err)
		}
		variants := observedVariants(b, c)
		b.Run("goroutines="+strconv.Itoa(workers), func(b *testing.B) {
			runPaired(b, workers, 500, asPaired(variants))
		})
	}
}

// TestObservedVariants checks that every variant runs the script once per
// call.
func TestObservedVariants(t *testing.T) {
	_, c := standalone(t, 0)
	ctx := context.Background()
	for _, v := range observedVariants(t, c) {
		before, _ := c.Get(ctx, perCallKeys[0]).Int()
		if err := v.op(ctx); err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if after, err := c.Get(ctx, perCallKeys[0]).Int(); err != nil || after != before+1 {
			t.Errorf("%s: counter went from %d to %d (%v), want +1", v.name, before, after, err)
		}
	}
}

// BenchmarkObserverCost measures what an observer adds to one call on the
// client's side, without the call itself: StartCall and EndCall of
// redisluaotel's Observer for a cached script's call, by provider. Set
// beside a call's time (BenchmarkObserved), it bounds the overhead
// without the noise of the round trip.
func BenchmarkObserverCost(b *testing.B) {
	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	sampled := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(discardingProcessor{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		ctx := context.Background()
		_, _, _ = unsampled.Shutdown(ctx), sampled.Shutdown(ctx), mp.Shutdown(ctx)
	})
	for _, v := range []struct {
		name string
		opts *redisluaotel.Options
	}{
		{"otel-noop", &redisluaotel.Options{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider()}},
		{"otel-global-unset", &redisluaotel.Options{}},
		{"otel-sdk-unsampled", &redisluaotel.Options{TracerProvider: unsampled, MeterProvider: mp}},
		{"otel-sdk-sampled", &redisluaotel.Options{TracerProvider: sampled, MeterProvider: mp}},
	} {
		b.Run("impl="+v.name, func(b *testing.B) {
			o, err := redisluaotel.New(v.opts)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				call := &redislua.Call{Name: "incr", Command: "EVALSHA", Addr: "127.0.0.1:6379", Keys: 1, Start: time.Now()}
				o.EndCall(o.StartCall(ctx, call), call, nil)
			}
		})
	}
}
