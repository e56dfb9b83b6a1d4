// Command stdout shows the spans and metrics that redisluaotel records,
// written by OpenTelemetry's stdout exporters: a script call that falls
// back after SCRIPT FLUSH, a cached call, a failing call, a pipeline, a
// lock and a rate limiter.
//
// It uses an embedded miniredis, or the Redis at REDIS_ADDR (host:port):
//
//	go run ./examples/stdout                        # in redisluaotel/
//	REDIS_ADDR=127.0.0.1:6379 go run ./examples/stdout
//
// With REDIS_ADDR it writes the keys otel-example:* and flushes the
// server's script cache once, to show a fallback.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/lock"
	"github.com/redislua/redislua/ratelimit"
	"github.com/redislua/redislua/redisluaotel"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

var (
	incr = redislua.MustNewScript("counters/incr.lua", "-- @key counter\n-- @arg by\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])")
	fail = redislua.MustNewScript("counters/fail.lua", "-- @key counter\nlocal n = redis.call('GET', KEYS[1])\nreturn redis.error_reply('NEGATIVE ' .. tostring(n))")
)

func run(ctx context.Context, out io.Writer) error {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		m, err := miniredis.Run()
		if err != nil {
			return err
		}
		defer m.Close()
		addr = m.Addr()
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()

	// The SDK, writing to out: spans as they end, metrics at shutdown.
	spans, err := stdouttrace.New(stdouttrace.WithWriter(out), stdouttrace.WithPrettyPrint(), stdouttrace.WithoutTimestamps())
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	metrics, err := stdoutmetric.New(stdoutmetric.WithWriter(out), stdoutmetric.WithPrettyPrint(), stdoutmetric.WithoutTimestamps())
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metrics, sdkmetric.WithInterval(time.Hour))))

	// The one call that instruments the client's scripts.
	if err := redisluaotel.Instrument(rdb, &redisluaotel.Options{TracerProvider: tp, MeterProvider: mp}); err != nil {
		return err
	}

	if err := rdb.ScriptFlush(ctx).Err(); err != nil { // so that the first call falls back
		return err
	}
	for range 2 { // the first call's span has a redislua.fallback event
		if err := incr.Run(ctx, rdb, []string{"otel-example:n"}, 1).Err(); err != nil {
			return err
		}
	}
	err = fail.Run(ctx, rdb, []string{"otel-example:n"}).Err()
	fmt.Fprintf(out, "--- the failing call returned: %v\n", err)
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		incr.Run(ctx, p, []string{"otel-example:n"}, 1)
		incr.Run(ctx, p, []string{"otel-example:m"}, 1)
		return nil
	}); err != nil {
		return err
	}
	l, err := lock.New(rdb, "otel-example:lock", nil)
	if err != nil {
		return err
	}
	if err := l.Acquire(ctx); err != nil {
		return err
	}
	if err := l.Release(ctx); err != nil {
		return err
	}
	lim, err := ratelimit.New(rdb, 1, time.Minute, nil)
	if err != nil {
		return err
	}
	for range 2 {
		if _, err := lim.Allow(ctx, "otel-example:user"); err != nil {
			return err
		}
	}

	fmt.Fprintln(out, "--- metrics")
	if err := tp.Shutdown(ctx); err != nil {
		return err
	}
	return mp.Shutdown(ctx) // writes the metrics
}
