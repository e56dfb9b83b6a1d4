package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// The example must keep running against the embedded miniredis. Its
// timeline depends on the server's clock, so only the first calls, which
// no clock can refuse, are checked here.
func TestRateLimitExampleRuns(t *testing.T) {
	t.Setenv("REDIS_ADDR", "")
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"call 1: allowed, 4 remaining\n",
		"call 5: allowed, 0 remaining\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// On a server clock that moves only when the example waits, the example
// prints exactly what it claims: five calls admitted, refusals that say
// when to retry, a retry admitted after that wait, AllowN all or nothing,
// Reset, and the sliding counter admitting exactly its limit.
func TestRateLimitExampleTimeline(t *testing.T) {
	m := miniredis.RunT(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	m.SetTime(now)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	var out bytes.Buffer
	sleep := func(d time.Duration) { now = now.Add(d); m.SetTime(now) }
	if err := demo(context.Background(), &out, rdb, sleep); err != nil {
		t.Fatal(err)
	}
	want := `call 1: allowed, 4 remaining
call 2: allowed, 3 remaining
call 3: allowed, 2 remaining
call 4: allowed, 1 remaining
call 5: allowed, 0 remaining
call 6: refused, retry after 300ms
call 7: refused, retry after 300ms
after waiting 300ms: allowed=true
AllowN(3): allowed=true, 2 remaining
AllowN(3): allowed=false, 2 remaining
AllowN(2): allowed=true, 0 remaining
after Reset, AllowN(5): allowed=true
sliding counter, limit 100000 per minute: admitted 100000 of 125000
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}
