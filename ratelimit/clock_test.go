package ratelimit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/redistest"
)

// clock is a server whose time, as the rate limiter's scripts read it, the
// test sets: a miniredis, whose TIME (inside scripts too) it sets, or a
// redis-server, whose clock cannot be set, running the scripts as
// fakeTimeScript makes them read the time.
type clock struct {
	c    *redis.Client
	base time.Time
	set  func(time.Time)
	real bool // a redis-server: limiters need fakeTimeScript
}

// newClock returns a miniredis at base, a multiple of every window the
// tests use, so that the counter's fixed windows start at offset 0.
func newClock(t testing.TB) *clock {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	k := &clock{c: c, base: time.Unix(1_700_000_000, 0), set: m.SetTime}
	k.at(0)
	return k
}

// fakeTimeKey holds the time ("seconds microseconds") that the scripts of
// fakeTimeScript read instead of TIME.
const fakeTimeKey = "ratelimit-test:time"

// newRedisClock returns a redis-server whose time, for the scripts of
// fakeTimeScript, is base.
func newRedisClock(t testing.TB) *clock {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = c.Close() })
	set := func(at time.Time) {
		if err := c.Set(context.Background(), fakeTimeKey, fmt.Sprintf("%d %d", at.Unix(), at.Nanosecond()/1000), 0).Err(); err != nil {
			t.Fatalf("setting the scripts' time: %v", err)
		}
	}
	k := &clock{c: c, base: time.Unix(1_700_000_000, 0), set: set, real: true}
	k.at(0)
	return k
}

// forEachClock runs fn on a miniredis clock and on a redis-server clock.
func forEachClock(t *testing.T, fn func(t *testing.T, k *clock)) {
	t.Run("miniredis", func(t *testing.T) { fn(t, newClock(t)) })
	t.Run("redis", func(t *testing.T) { fn(t, newRedisClock(t)) })
}

// at sets the server's time to base + d.
func (k *clock) at(d time.Duration) { k.set(k.base.Add(d)) }

// limiter returns a limiter on k's server; on a redis-server its script
// reads the time that k sets.
func (k *clock) limiter(t *testing.T, limit int, window time.Duration, opts *Options) *Limiter {
	t.Helper()
	l := newTestLimiter(t, k.c, limit, window, opts)
	if k.real {
		l.script = fakeTimeScript(t, l.script)
	}
	return l
}

// fakeTimeScript returns s with one change: a local redis table, declared
// after the header, answers TIME with the time in fakeTimeKey and passes
// every other command to Redis. The rest is the text users run, so a
// redis-server runs its arithmetic on the times a test chooses.
func fakeTimeScript(t *testing.T, s *redislua.Script) *redislua.Script {
	t.Helper()
	const prelude = `local realRedis = redis
local redis = setmetatable({
  call = function(cmd, ...)
    if cmd == 'TIME' then
      local at = realRedis.call('GET', '` + fakeTimeKey + `') -- redislua:ignore key-not-from-KEYS
      local sec, usec = string.match(at, '^(%d+) (%d+)$')
      return {sec, usec}
    end
    return realRedis.call(cmd, ...)
  end,
}, {__index = realRedis})
`
	src := s.Source()
	body := 0 // the first line after the header's comments
	for body < len(src) && strings.HasPrefix(src[body:], "--") {
		body += strings.IndexByte(src[body:], '\n') + 1
	}
	if !strings.Contains(src[body:], "redis.call('TIME')") {
		t.Fatalf("%s does not read TIME after its header", s.Name())
	}
	fake, err := redislua.NewScript(s.Name()+"-fake-time", src[:body]+prelude+src[body:])
	if err != nil {
		t.Fatalf("%s with a fake TIME: %v", s.Name(), err)
	}
	return fake
}

type step struct {
	at         time.Duration
	n          int
	want       Result
	wantLogLen int // ZCARD of the log after the step; -1: not checked
}

func runSteps(t *testing.T, k *clock, l *Limiter, key string, steps []step) {
	t.Helper()
	for i, s := range steps {
		k.at(s.at)
		want := s.want
		if want.Allowed {
			want.Admitted = s.n
		}
		if got := allowN(t, l, key, s.n); got != want {
			t.Errorf("step %d: at %v AllowN(%d) = %+v, want %+v", i, s.at, s.n, got, want)
		}
		if s.wantLogLen >= 0 {
			if got, err := k.c.ZCard(context.Background(), mustKey(t, key, keyspace.KindRateLog)).Result(); err != nil || int(got) != s.wantLogLen {
				t.Errorf("step %d: ZCARD = %d, %v; want %d", i, got, err, s.wantLogLen)
			}
		}
	}
}

// When the server's clock steps back, no call leaves the window early: the
// log keeps counting the calls recorded ahead of the clock until the clock
// has passed their window; the counter holds time at its newest window and
// adds the lag to its waits, so that RetryAfter and ResetAfter are still
// the real time to wait. On miniredis and on a redis-server (see
// fakeTimeScript); the keys' TTLs follow neither clock here, and are
// checked on real Redis in TestLogCallsAheadOfTheClock and
// TestCounterAheadOfTheClock.
func TestClockStepsBack(t *testing.T) {
	forEachClock(t, testClockStepsBack)
}

func testClockStepsBack(t *testing.T, k *clock) {
	const s, us = time.Second, time.Microsecond
	t.Run("log", func(t *testing.T) {
		l := k.limiter(t, 3, 10*time.Second, nil)
		k.at(100 * s)
		allowN(t, l, "back", 2)
		k.at(50 * s) // 50 s back: the calls at 100 s still count
		if r := allowN(t, l, "back", 1); !r.Allowed || r.Remaining != 0 {
			t.Errorf("after the step back: %+v, want allowed, Remaining 0", r)
		}
		// The call at 50 s leaves the window at 60 s, the calls at 100 s at
		// 110 s.
		if r := allowN(t, l, "back", 1); r.Allowed || r.RetryAfter != 10*s || r.ResetAfter != 60*s {
			t.Errorf("over the limit: %+v, want refused, RetryAfter 10s, ResetAfter 60s", r)
		}
		k.at(60 * s)
		if r := allowN(t, l, "back", 2); r.Allowed || r.Remaining != 1 || r.RetryAfter != 50*s {
			t.Errorf("at 60 s, AllowN(2): %+v, want refused, Remaining 1, RetryAfter 50s", r)
		}
		k.at(110 * s) // the clock is back past the calls' window
		if r := allowN(t, l, "back", 1); !r.Allowed || r.Remaining != 2 {
			t.Errorf("a window after the calls: %+v, want allowed, Remaining 2", r)
		}
	})
	t.Run("counter", func(t *testing.T) {
		l := k.limiter(t, 3, 10*time.Second, counterOpts)
		k.at(100 * s)
		allowN(t, l, "back", 2) // window 10
		// 50 s back: time is held at 100 s, 50 s ahead of the clock. The
		// window has room for one more call, whose counts last until 120 s.
		k.at(50 * s)
		if r := allowN(t, l, "back", 1); r != (Result{Allowed: true, Admitted: 1, Remaining: 0, RetryAfter: 0, ResetAfter: 70 * s}) {
			t.Errorf("after the step back: %+v, want allowed, Remaining 0, ResetAfter 70s", r)
		}
		// In window 11 the 3 count as 3 * (10 s - e) / 10 s, which leaves
		// room for one call from e = 3.333334 s: at 113.333334 s, 63.333334 s
		// of the clock from now.
		want := 63*s + 333334*us
		if r := allowN(t, l, "back", 1); r != (Result{Allowed: false, Remaining: 0, RetryAfter: want, ResetAfter: 70 * s}) {
			t.Errorf("over the limit: %+v, want refused, RetryAfter %v, ResetAfter 70s", r, want)
		}
		k.at(50*s + want - us)
		if r := allowN(t, l, "back", 1); r.Allowed || r.RetryAfter != us {
			t.Errorf("a microsecond before RetryAfter: %+v, want refused, RetryAfter 1µs", r)
		}
		k.at(50*s + want)
		if r := allowN(t, l, "back", 1); !r.Allowed {
			t.Errorf("after waiting RetryAfter: %+v, want allowed", r)
		}
	})
}
