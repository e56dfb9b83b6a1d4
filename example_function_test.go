package redislua_test

import (
	"context"
	"errors"
	"fmt"
	"testing/fstest"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// A file starting with "#!lua name=" is a Redis Functions library: the
// registry lists its functions without running it. Loading and calling
// need Redis 7 (see docs/functions.md); on miniredis, which has no
// Functions, they say so. The program examples/functions runs the same
// calls on the Redis 7 at REDIS_ADDR.
func ExampleFunction_Call() {
	files := fstest.MapFS{"counter.lua": {Data: []byte(`#!lua name=counter
redis.register_function('counter_incr', function(keys, args)
  return redis.call('INCRBY', keys[1], args[1])
end)
redis.register_function{function_name='counter_get', callback=function(keys, args)
  return redis.call('GET', keys[1])
end, flags={'no-writes'}}
`)}}
	reg, err := redislua.NewRegistry(files, nil)
	if err != nil {
		panic(err)
	}
	for _, lib := range reg.Libraries() {
		for _, f := range lib.Functions() {
			fmt.Printf("%s.%s read-only=%v\n", lib.Name(), f.Name(), f.ReadOnly())
		}
	}

	srv, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	ctx := context.Background()
	err = reg.LoadAll(ctx, rdb) // on Redis 7: loads counter once, then finds it
	fmt.Println("miniredis has Functions:", !errors.Is(err, redislua.ErrFunctionsUnsupported))
	incr, _ := reg.Function("counter_incr")
	err = incr.Call(ctx, rdb, []string{"visits"}, 1).Err()
	fmt.Println("call refused:", errors.Is(err, redislua.ErrFunctionsUnsupported))
	// Output:
	// counter.counter_incr read-only=false
	// counter.counter_get read-only=true
	// miniredis has Functions: false
	// call refused: true
}
