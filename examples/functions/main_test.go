package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// On Redis 7 the program loads its library and calls both functions; a
// second run finds the library loaded and counts from 1 again, since it
// deleted its key. It leaves the library, with its exact code, and no key.
func TestFunctionsRunsOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	t.Setenv("REDIS_ADDR", srv.Addr)
	want := "library example_visits (visits.lua): example_visits_hit, example_visits_count [no-writes]\n" +
		"using Redis at " + srv.Addr + "\n" +
		"library example_visits loaded (FUNCTION LOAD, skipped where the server has the same code)\n" +
		"example_visits_hit: 1\n" +
		"example_visits_hit: 2\n" +
		"example_visits_count: 2\n"
	for range 2 {
		var out bytes.Buffer
		if err := run(context.Background(), &out); err != nil {
			t.Fatalf("run: %v\noutput:\n%s", err, out.String())
		}
		if out.String() != want {
			t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
		}
	}
	rdb := srv.Client(t)
	ctx := context.Background()
	if info := rdb.Info(ctx, "commandstats").Val(); !strings.Contains(info, "cmdstat_function|load:calls=1,") {
		t.Errorf("want one FUNCTION LOAD in two runs; INFO commandstats:\n%s", info)
	}
	if keys, err := rdb.Keys(ctx, "*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("keys after the runs = %v, %v; want none", keys, err)
	}
	libs, err := rdb.FunctionList(ctx, redis.FunctionListQuery{WithCode: true}).Result()
	if err != nil {
		t.Fatal(err)
	}
	code := read(t, "lua/visits.lua")
	if len(libs) != 1 || libs[0].Name != "example_visits" || libs[0].Code != code {
		t.Errorf("libraries on the server = %+v, want example_visits with the code of lua/visits.lua", libs)
	}
}

// A server that holds another version of the library is left alone: the
// program fails, naming the library, and calls nothing.
func TestFunctionsRefusesAnotherVersion(t *testing.T) {
	srv := redistest.Start(t)
	t.Setenv("REDIS_ADDR", srv.Addr)
	rdb := srv.Client(t)
	ctx := context.Background()
	other := "#!lua name=example_visits\nredis.register_function('example_visits_hit', function(keys) return 0 end)\n"
	if err := rdb.FunctionLoad(ctx, other).Err(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(ctx, &out)
	if err == nil || !strings.Contains(err.Error(), "function library example_visits has other code") {
		t.Errorf("run = %v, want a conflict naming example_visits", err)
	}
	if strings.Contains(out.String(), "example_visits_hit:") {
		t.Errorf("functions called despite the conflict:\n%s", out.String())
	}
}

// Without REDIS_ADDR the program runs on an embedded miniredis, which has
// no Functions: it says why it cannot call them and exits cleanly (main
// returns, as log.Fatal would not let it).
func TestFunctionsOnMiniredisSaysWhy(t *testing.T) {
	t.Setenv("REDIS_ADDR", "")
	want := "library example_visits (visits.lua): example_visits_hit, example_visits_count [no-writes]\n" +
		"using an embedded miniredis (set REDIS_ADDR to use a real Redis)\n" +
		"cannot call the functions: this server has no Redis Functions (they need Redis 7 or later; miniredis has none).\n" +
		"Run it against Redis 7: REDIS_ADDR=127.0.0.1:6379 go run ./examples/functions\n"
	if got := stdoutOf(t, main); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stdoutOf runs f and returns what it wrote to os.Stdout.
func stdoutOf(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = saved }()
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	f()
	w.Close()
	return <-done
}
