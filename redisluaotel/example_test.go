package redisluaotel_test

import (
	"context"
	"fmt"
	"log"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/redisluaotel"
)

// One call instruments a client; each script call is then one span named
// after the script, and a NOSCRIPT fallback an event on it.
func ExampleInstrument() {
	m, err := miniredis.Run() // an embedded server, for the example
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()

	spans := tracetest.NewInMemoryExporter() // a real program exports to a collector
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	if err := redisluaotel.Instrument(rdb, &redisluaotel.Options{TracerProvider: tp}); err != nil {
		log.Fatal(err)
	}

	incr := redislua.MustNewScript("counters/incr.lua", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
	ctx := context.Background()
	for range 2 { // the first call finds the script cache empty
		if err := incr.Run(ctx, rdb, []string{"hits"}, 1).Err(); err != nil {
			log.Fatal(err)
		}
	}
	for _, s := range spans.GetSpans() {
		fmt.Println(s.Name, s.SpanKind)
		for _, kv := range s.Attributes {
			if kv.Key != "server.port" {
				fmt.Printf("  %s=%s\n", kv.Key, kv.Value.Emit())
			}
		}
		for _, ev := range s.Events {
			fmt.Println("  event:", ev.Name)
		}
	}
	// Output:
	// EVALSHA counters/incr.lua client
	//   db.operation.name=EVALSHA
	//   db.stored_procedure.name=counters/incr.lua
	//   db.system.name=redis
	//   server.address=127.0.0.1
	//   event: redislua.fallback
	// EVALSHA counters/incr.lua client
	//   db.operation.name=EVALSHA
	//   db.stored_procedure.name=counters/incr.lua
	//   db.system.name=redis
	//   server.address=127.0.0.1
}
