package redislua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/redistest"
)

// rateBackend is a server the rate-limiter tests run on.
type rateBackend struct {
	name string
	c    redis.UniversalClient
}

// forEachRateBackend runs fn on a fresh miniredis, a fresh redis-server and
// the shared Redis Cluster.
func forEachRateBackend(t *testing.T, fn func(t *testing.T, rb rateBackend)) {
	t.Helper()
	forEachBackend(t, func(t *testing.T, b backend) {
		fn(t, rateBackend{name: b.name, c: b.client})
	})
	t.Run("cluster", func(t *testing.T) {
		fn(t, rateBackend{name: "cluster", c: sharedCluster(t)})
	})
}

// rateKeySeq makes every key of this file's tests unique, also across runs
// against the shared cluster (-count=N runs them in one binary).
var rateKeySeq atomic.Int64

// rateKey returns a key no other test uses.
func rateKey(t *testing.T, name string) string {
	return fmt.Sprintf("ratelimit-test:%s:%d:%s", t.Name(), rateKeySeq.Add(1), name)
}

// rateVariant is one kind of limiter, with a window long enough for a test
// on a real server to finish inside it.
type rateVariant struct {
	name   string
	window time.Duration
	opts   []RateLimitOption
}

var rateVariants = []rateVariant{
	{"log", time.Minute, nil},
	// The counter's fixed windows are aligned to the epoch, so one may end
	// during the test. After it, the previous window's calls still count in
	// full until 1/limit of the new window has passed: with an hour that
	// is 36 s for a limit of 100, far longer than the test.
	{"counter", time.Hour, []RateLimitOption{WithSlidingCounter()}},
}

func newTestLimiter(t *testing.T, c redis.Scripter, limit int, window time.Duration, opts ...RateLimitOption) *RateLimiter {
	t.Helper()
	l, err := NewRateLimiter(c, limit, window, opts...)
	if err != nil {
		t.Fatalf("NewRateLimiter(%d, %v): %v", limit, window, err)
	}
	return l
}

// allowN calls AllowN and fails the test on error.
func allowN(t testing.TB, l *RateLimiter, key string, n int) RateResult {
	t.Helper()
	r, err := l.AllowN(context.Background(), key, n)
	if err != nil {
		t.Fatalf("AllowN(%q, %d): %v", key, n, err)
	}
	return r
}

// mustKey returns the Redis key a limiter of kind (kindRateLog or
// kindRateCount) uses for key.
func mustKey(t *testing.T, key, kind string) string {
	t.Helper()
	return keyspace.Derive(key, kind)
}

// 50 goroutines each try 10 calls on one key inside one window: exactly
// the limit gets through, everywhere.
func TestRateLimiterConcurrent(t *testing.T) {
	const (
		limit      = 100
		goroutines = 50
		calls      = 10
	)
	forEachRateBackend(t, func(t *testing.T, rb rateBackend) {
		for _, v := range rateVariants {
			t.Run(v.name, func(t *testing.T) {
				ctx := context.Background()
				l := newTestLimiter(t, rb.c, limit, v.window, v.opts...)
				key := rateKey(t, "hot")
				var (
					allowed, denied atomic.Int64
					wg              sync.WaitGroup
					start           = make(chan struct{})
					errs            = make(chan error, goroutines*calls)
				)
				for range goroutines {
					wg.Go(func() {
						<-start
						for range calls {
							r, err := l.Allow(ctx, key)
							switch {
							case err != nil:
								errs <- err
							case r.Allowed:
								allowed.Add(1)
								if r.RetryAfter != 0 || r.Remaining < 0 || r.Remaining >= limit {
									errs <- fmt.Errorf("allowed call: %+v, want RetryAfter 0 and 0 <= Remaining < %d", r, limit)
								}
							default:
								denied.Add(1)
								if r.RetryAfter <= 0 || r.Remaining != 0 {
									errs <- fmt.Errorf("denied call: %+v, want RetryAfter > 0 and Remaining 0", r)
								}
							}
						}
					})
				}
				close(start)
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				if a, d := allowed.Load(), denied.Load(); a != limit || d != goroutines*calls-limit {
					t.Errorf("allowed %d, denied %d; want %d and %d", a, d, limit, goroutines*calls-limit)
				}
				r := allowN(t, l, key, 1)
				if r.Allowed || r.Remaining != 0 || r.RetryAfter <= 0 || r.RetryAfter > v.window ||
					r.ResetAfter < r.RetryAfter || r.ResetAfter > 2*v.window {
					t.Errorf("call after the burst: %+v; want denied, Remaining 0, 0 < RetryAfter <= ResetAfter <= 2*window", r)
				}
			})
		}
	})
}

// AllowN admits all n calls or none: a refused AllowN uses up nothing.
func TestRateLimiterAllowN(t *testing.T) {
	forEachRateBackend(t, func(t *testing.T, rb rateBackend) {
		for _, v := range rateVariants {
			t.Run(v.name, func(t *testing.T) {
				ctx := context.Background()
				l := newTestLimiter(t, rb.c, 10, v.window, v.opts...)
				key := rateKey(t, "n")
				steps := []struct {
					n             int
					allowed       bool
					wantRemaining int
				}{
					{7, true, 3},
					{4, false, 3}, // more than remain: refused, nothing used
					{3, true, 0},
					{10, false, 0},
					{1, false, 0},
				}
				for i, s := range steps {
					r := allowN(t, l, key, s.n)
					if r.Allowed != s.allowed || r.Remaining != s.wantRemaining {
						t.Errorf("step %d: AllowN(%d) = %+v, want Allowed %v, Remaining %d", i, s.n, r, s.allowed, s.wantRemaining)
					}
					if (r.RetryAfter > 0) == r.Allowed {
						t.Errorf("step %d: AllowN(%d) = %+v: RetryAfter must be 0 exactly when allowed", i, s.n, r)
					}
				}
				// What the server holds: 10 calls, not 10 + the refused 4 + 10 + 1.
				if v.name == "log" {
					if got, err := rb.c.ZCard(ctx, mustKey(t, key, kindRateLog)).Result(); err != nil || got != 10 {
						t.Errorf("ZCARD of the log = %d, %v; want 10", got, err)
					}
				} else {
					if got, err := rb.c.HGet(ctx, mustKey(t, key, kindRateCount), "c").Int(); err != nil || got != 10 {
						t.Errorf("count in the counter = %d, %v; want 10", got, err)
					}
				}
			})
		}
	})
}

// Reset forgets a key's calls, for either kind of limiter, and only that
// key's.
func TestRateLimiterReset(t *testing.T) {
	forEachRateBackend(t, func(t *testing.T, rb rateBackend) {
		ctx := context.Background()
		key, other := rateKey(t, "reset"), rateKey(t, "other")
		var limiters []*RateLimiter
		for _, v := range rateVariants {
			l := newTestLimiter(t, rb.c, 5, v.window, v.opts...)
			limiters = append(limiters, l)
			for _, k := range []string{key, other} {
				if r := allowN(t, l, k, 5); !r.Allowed {
					t.Fatalf("%s: first AllowN(5) refused: %+v", v.name, r)
				}
			}
		}
		// One Reset, by the log limiter, clears both kinds.
		if err := limiters[0].Reset(ctx, key); err != nil {
			t.Fatal(err)
		}
		keys := []string{mustKey(t, key, kindRateLog), mustKey(t, key, kindRateCount)}
		if n, err := rb.c.Exists(ctx, keys...).Result(); err != nil || n != 0 {
			t.Errorf("EXISTS %v after Reset = %d, %v; want 0", keys, n, err)
		}
		for i, l := range limiters {
			if r := allowN(t, l, key, 5); !r.Allowed || r.Remaining != 0 {
				t.Errorf("%s: AllowN(5) after Reset = %+v, want allowed with Remaining 0", rateVariants[i].name, r)
			}
			if r := allowN(t, l, other, 1); r.Allowed {
				t.Errorf("%s: another key was reset too: %+v", rateVariants[i].name, r)
			}
		}
		// Resetting a key never used is no error.
		if err := limiters[1].Reset(ctx, rateKey(t, "unused")); err != nil {
			t.Errorf("Reset of an unused key: %v", err)
		}
	})
}

// The Redis keys are the documented ones, in the limited key's slot, and
// expire: the log one window after its newest call, the counter at most
// two windows after its last.
func TestRateLimiterKeys(t *testing.T) {
	forEachRateBackend(t, func(t *testing.T, rb rateBackend) {
		ctx := context.Background()
		base := rateKey(t, "")
		cases := []struct {
			key, log, counter string
		}{
			{base + "user:42", base + "user:42{" + base + "user:42}redislua:ratelog", base + "user:42{" + base + "user:42}redislua:ratecount"},
			{"api:{" + base + "u1}", "api:{" + base + "u1}{}redislua:ratelog", "api:{" + base + "u1}{}redislua:ratecount"},
		}
		for _, c := range cases {
			for _, v := range rateVariants {
				l := newTestLimiter(t, rb.c, 3, v.window, v.opts...)
				if r := allowN(t, l, c.key, 1); !r.Allowed {
					t.Fatalf("%s: first call refused: %+v", v.name, r)
				}
				want, maxTTL := c.log, v.window
				if v.name == "counter" {
					want, maxTTL = c.counter, 2*v.window
				}
				if Slot(want) != Slot(c.key) {
					t.Errorf("%s: slot of %q is %d, of %q %d", v.name, want, Slot(want), c.key, Slot(c.key))
				}
				ttl, err := rb.c.PTTL(ctx, want).Result()
				if err != nil || ttl <= 0 || ttl > maxTTL {
					t.Errorf("%s: PTTL %q = %v, %v; want in (0, %v]", v.name, want, ttl, err, maxTTL)
				}
			}
		}
	})
}

// Calls leave the window as real time passes, on real servers: a full key
// admits again once its first call is a window old, and waiting RetryAfter
// (or ResetAfter) is enough.
func TestRateLimiterSlidesRealTime(t *testing.T) {
	const (
		limit  = 5
		window = 200 * time.Millisecond
	)
	backends := map[string]func(t *testing.T) redis.UniversalClient{
		"redis":   func(t *testing.T) redis.UniversalClient { return realRedis(t).client },
		"cluster": func(t *testing.T) redis.UniversalClient { return sharedCluster(t) },
	}
	for bname, client := range backends {
		t.Run(bname, func(t *testing.T) {
			t.Parallel()
			c := client(t)
			for _, v := range rateVariants {
				t.Run(v.name, func(t *testing.T) {
					l := newTestLimiter(t, c, limit, window, v.opts...)
					key := rateKey(t, "slide")
					begin := time.Now()
					for i := range limit {
						if r := allowN(t, l, key, 1); !r.Allowed {
							t.Fatalf("call %d refused: %+v", i, r)
						}
					}
					r := allowN(t, l, key, 1)
					if r.Allowed || r.RetryAfter <= 0 || r.RetryAfter > 2*window {
						t.Fatalf("call over the limit: %+v, want refused with 0 < RetryAfter <= %v", r, 2*window)
					}
					deadline := begin.Add(5 * time.Second)
					for !allowN(t, l, key, 1).Allowed {
						if time.Now().After(deadline) {
							t.Fatal("still refused 5 s after the first call")
						}
						time.Sleep(5 * time.Millisecond)
					}
					// The server admitted again only once the first call was
					// a window old on its clock; the client saw at least that.
					if v.name == "log" && time.Since(begin) < window {
						t.Errorf("admitted again %v after the first call, before the window (%v) passed", time.Since(begin), window)
					}

					// Waiting what a refusal says is enough.
					if r := allowN(t, l, key, limit); r.Allowed {
						t.Fatalf("AllowN(limit) on a used key admitted: %+v", r)
					} else {
						time.Sleep(r.RetryAfter)
						if r2 := allowN(t, l, key, limit); !r2.Allowed {
							t.Errorf("refused again after waiting RetryAfter %v: %+v", r.RetryAfter, r2)
						} else if r2.ResetAfter <= 0 {
							t.Errorf("ResetAfter %v after admitted calls", r2.ResetAfter)
						} else {
							time.Sleep(r2.ResetAfter)
							if r3 := allowN(t, l, key, 1); !r3.Allowed || r3.Remaining != limit-1 {
								t.Errorf("after waiting ResetAfter %v: %+v, want a clear window (Remaining %d)", r2.ResetAfter, r3, limit-1)
							}
						}
					}
				})
			}
		})
	}
}

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
func (k *clock) limiter(t *testing.T, limit int, window time.Duration, opts ...RateLimitOption) *RateLimiter {
	t.Helper()
	l := newTestLimiter(t, k.c, limit, window, opts...)
	if k.real {
		l.script = fakeTimeScript(t, l.script)
	}
	return l
}

// fakeTimeScript returns s with one change: a local redis table, declared
// after the header, answers TIME with the time in fakeTimeKey and passes
// every other command to Redis. The rest is the text users run, so a
// redis-server runs its arithmetic on the times a test chooses.
func fakeTimeScript(t *testing.T, s *Script) *Script {
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
	fake, err := NewScript(s.Name()+"-fake-time", src[:body]+prelude+src[body:])
	if err != nil {
		t.Fatalf("%s with a fake TIME: %v", s.Name(), err)
	}
	return fake
}

type rateStep struct {
	at         time.Duration
	n          int
	want       RateResult
	wantLogLen int // ZCARD of the log after the step; -1: not checked
}

func runSteps(t *testing.T, k *clock, l *RateLimiter, key string, steps []rateStep) {
	t.Helper()
	for i, s := range steps {
		k.at(s.at)
		if got := allowN(t, l, key, s.n); got != s.want {
			t.Errorf("step %d: at %v AllowN(%d) = %+v, want %+v", i, s.at, s.n, got, s.want)
		}
		if s.wantLogLen >= 0 {
			if got, err := k.c.ZCard(context.Background(), mustKey(t, key, kindRateLog)).Result(); err != nil || int(got) != s.wantLogLen {
				t.Errorf("step %d: ZCARD = %d, %v; want %d", i, got, err, s.wantLogLen)
			}
		}
	}
}

// The log, with the server's clock set by the test: exact results, and
// calls leave the window exactly one window after they were made. On
// miniredis and on a redis-server: the same Lua, two interpreters.
func TestRateLimiterLogTimeline(t *testing.T) {
	forEachClock(t, testRateLimiterLogTimeline)
}

func testRateLimiterLogTimeline(t *testing.T, k *clock) {
	l := k.limiter(t, 3, 10*time.Second)
	const s, us = time.Second, time.Microsecond
	runSteps(t, k, l, "log", []rateStep{
		{0, 1, RateResult{true, 2, 0, 10 * s}, 1},
		{4 * s, 1, RateResult{true, 1, 0, 10 * s}, 2},
		{8 * s, 1, RateResult{true, 0, 0, 10 * s}, 3},
		// Full: the call at 0 leaves at 10 s, the one at 8 s at 18 s.
		{9 * s, 1, RateResult{false, 0, 1 * s, 9 * s}, 3},
		{10*s - us, 1, RateResult{false, 0, us, 8*s + us}, 3},
		{10 * s, 1, RateResult{true, 0, 0, 10 * s}, 3},
		// Two calls need the two oldest (4 s and 8 s) gone: at 18 s.
		{13 * s, 2, RateResult{false, 0, 5 * s, 7 * s}, 3},
		// Refused calls write nothing: the call at 4 s, gone since 14 s,
		// stays until the next admitted call removes it.
		{18*s - us, 2, RateResult{false, 1, us, 2*s + us}, 3},
		{18 * s, 2, RateResult{true, 0, 0, 10 * s}, 3},
		// Long idle: everything has left.
		{60 * s, 1, RateResult{true, 2, 0, 10 * s}, 1},
	})
}

// The counter, with the server's clock set by the test: results follow
// the formula current + previous * (share of the previous window left).
// On miniredis and on a redis-server.
func TestRateLimiterCounterTimeline(t *testing.T) {
	forEachClock(t, testRateLimiterCounterTimeline)
}

func testRateLimiterCounterTimeline(t *testing.T, k *clock) {
	l := k.limiter(t, 10, 10*time.Second, WithSlidingCounter())
	const s, us = time.Second, time.Microsecond
	runSteps(t, k, l, "counter", []rateStep{
		// Window 0 fills at once.
		{0, 10, RateResult{true, 0, 0, 20 * s}, -1},
		// Refused: in window 1 the 10 count as 10 * (10 s - e) / 10 s, which
		// leaves room for one call from e = 1 s, 11 s from now.
		{0, 1, RateResult{false, 0, 11 * s, 20 * s}, -1},
		{11*s - us, 1, RateResult{false, 0, us, 9*s + us}, -1},
		{11 * s, 1, RateResult{true, 0, 0, 19 * s}, -1},
		// At 15 s: 1 + 10 * 5/10 = 6 counted, 4 remain.
		{15 * s, 4, RateResult{true, 0, 0, 15 * s}, -1},
		// 5 + 10 * (10 - e)/10 <= 9 from e = 6 s, at 16 s.
		{15 * s, 1, RateResult{false, 0, 1 * s, 15 * s}, -1},
		// At 25 s (window 2): 0 + 5 * 5/10 = 2.5 counted, so 7 remain; after
		// this call 1 + 2.5 = 3.5, rounded up, leaves 6.
		{25 * s, 1, RateResult{true, 6, 0, 15 * s}, -1},
		// Two windows idle: nothing counts.
		{50 * s, 1, RateResult{true, 9, 0, 20 * s}, -1},
		// AllowN(limit) needs nothing counted: the call at 50 s counts
		// through window 6, so 10 are admitted from 70 s.
		{55 * s, 10, RateResult{false, 9, 15 * s, 15 * s}, -1},
		{70*s - us, 10, RateResult{false, 9, us, us}, -1},
		{70 * s, 10, RateResult{true, 0, 0, 20 * s}, -1},
	})
}

// Many calls within one microsecond each get their own member: none is
// lost. miniredis with a fixed clock makes every call share one time.
func TestRateLimiterSameMicrosecond(t *testing.T) {
	k := newClock(t)
	l := newTestLimiter(t, k.c, 1000, time.Minute)
	for i := range 200 {
		if r := allowN(t, l, "same", 1); !r.Allowed || r.Remaining != 1000-1-i {
			t.Fatalf("call %d: %+v, want allowed with Remaining %d", i, r, 1000-1-i)
		}
	}
	for i := range 8 {
		if r := allowN(t, l, "same", 100); !r.Allowed || r.Remaining != 700-100*i {
			t.Fatalf("AllowN(100) %d: %+v, want allowed with Remaining %d", i, r, 700-100*i)
		}
	}
	if r := allowN(t, l, "same", 1); r.Allowed {
		t.Fatalf("call 1001 admitted: %+v", r)
	}
	if n, err := k.c.ZCard(context.Background(), mustKey(t, "same", kindRateLog)).Result(); err != nil || n != 1000 {
		t.Errorf("ZCARD = %d, %v; want 1000", n, err)
	}
}

// Two limiters with different windows on one key (a misuse) trim at
// different bounds at the same instant, so the sequence numbers they derive
// from the log's size can meet; no call may be lost to that.
func TestRateLimiterMemberCollision(t *testing.T) {
	k := newClock(t)
	short := newTestLimiter(t, k.c, 10, time.Second)
	long := newTestLimiter(t, k.c, 10, 2*time.Second)
	allowN(t, short, "shared", 2)     // members "0:0", "0:1"
	k.at(1500 * time.Millisecond)     // now 1.5 s:
	allowN(t, long, "shared", 1)      // trims nothing, adds "1.5:2"
	allowN(t, short, "shared", 1)     // trims both, adds "1.5:1"
	r := allowN(t, long, "shared", 1) // "1.5:2" exists: must add another
	if n, err := k.c.ZCard(context.Background(), mustKey(t, "shared", kindRateLog)).Result(); err != nil || n != 3 || !r.Allowed || r.Remaining != 7 {
		t.Errorf("ZCARD = %d (%v), last call %+v; want 3 members and Remaining 7", n, err, r)
	}
}

// When the server's clock steps back, no call leaves the window early: the
// log keeps counting the calls recorded ahead of the clock until the clock
// has passed their window; the counter holds time at its newest window and
// adds the lag to its waits, so that RetryAfter and ResetAfter are still
// the real time to wait. On miniredis and on a redis-server (see
// fakeTimeScript); the keys' TTLs follow neither clock here, and are
// checked on real Redis in TestRateLimiterLogCallsAheadOfTheClock and
// TestRateLimiterCounterAheadOfTheClock.
func TestRateLimiterClockStepsBack(t *testing.T) {
	forEachClock(t, testRateLimiterClockStepsBack)
}

func testRateLimiterClockStepsBack(t *testing.T, k *clock) {
	const s, us = time.Second, time.Microsecond
	t.Run("log", func(t *testing.T) {
		l := k.limiter(t, 3, 10*time.Second)
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
		l := k.limiter(t, 3, 10*time.Second, WithSlidingCounter())
		k.at(100 * s)
		allowN(t, l, "back", 2) // window 10
		// 50 s back: time is held at 100 s, 50 s ahead of the clock. The
		// window has room for one more call, whose counts last until 120 s.
		k.at(50 * s)
		if r := allowN(t, l, "back", 1); r != (RateResult{true, 0, 0, 70 * s}) {
			t.Errorf("after the step back: %+v, want allowed, Remaining 0, ResetAfter 70s", r)
		}
		// In window 11 the 3 count as 3 * (10 s - e) / 10 s, which leaves
		// room for one call from e = 3.333334 s: at 113.333334 s, 63.333334 s
		// of the clock from now.
		want := 63*s + 333334*us
		if r := allowN(t, l, "back", 1); r != (RateResult{false, 0, want, 70 * s}) {
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

// The counter's memory is constant; the log's grows with the calls in the
// window. Checked with MEMORY USAGE on real Redis (miniredis has none).
func TestRateLimiterMemory(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	usage := func(l *RateLimiter, suffix string, calls int) int64 {
		key := fmt.Sprintf("memory:%05d", calls) // keys of one length
		for done := 0; done < calls; done += 100 {
			allowN(t, l, key, min(100, calls-done))
		}
		n, err := b.client.MemoryUsage(ctx, mustKey(t, key, suffix), 0).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	logL := newTestLimiter(t, b.client, 10000, time.Hour)
	counterL := newTestLimiter(t, b.client, 10000, time.Hour, WithSlidingCounter())
	c10, c10000 := usage(counterL, kindRateCount, 10), usage(counterL, kindRateCount, 10000)
	l10, l1000 := usage(logL, kindRateLog, 10), usage(logL, kindRateLog, 1000)
	t.Logf("MEMORY USAGE: counter %d bytes after 10 calls, %d after 10000; log %d after 10, %d after 1000", c10, c10000, l10, l1000)
	if c10000 > c10+16 || c10000 > 200 {
		t.Errorf("counter uses %d bytes after 10 calls, %d after 10000; want at most 200 and 16 more", c10, c10000)
	}
	if l1000 < 50*1000 {
		t.Errorf("log of 1000 calls uses %d bytes, less than 50 per call: is it recording them?", l1000)
	}
}

// Misuse is refused with typed errors before anything is sent.
func TestRateLimiterValidation(t *testing.T) {
	b := forMiniredis(t)
	ctx := context.Background()
	var nilClient *redis.Client
	ctors := []struct {
		name   string
		c      redis.Scripter
		limit  int
		window time.Duration
		want   error
	}{
		{"nil client", nil, 1, time.Second, ErrNilClient},
		{"typed nil client", nilClient, 1, time.Second, ErrNilClient},
		{"pipeline", b.client.Pipeline(), 1, time.Second, ErrPipeline},
		{"zero limit", b.client, 0, time.Second, ErrInvalidLimit},
		{"negative limit", b.client, -1, time.Second, ErrInvalidLimit},
		{"limit past 2^53", b.client, maxRateLimit + 1, time.Second, ErrInvalidLimit},
		{"zero window", b.client, 1, 0, ErrInvalidWindow},
		{"negative window", b.client, 1, -time.Second, ErrInvalidWindow},
		{"window under 1ms", b.client, 1, time.Millisecond - time.Microsecond, ErrInvalidWindow},
	}
	for _, c := range ctors {
		l, err := NewRateLimiter(c.c, c.limit, c.window)
		if !errors.Is(err, c.want) || l != nil {
			t.Errorf("%s: NewRateLimiter = %v, %v; want nil, %v", c.name, l, err, c.want)
		}
	}
	if l, err := NewRateLimiter(b.client, maxRateLimit, time.Millisecond, nil, WithSlidingCounter()); err != nil || l.Limit() != maxRateLimit || l.Window() != time.Millisecond {
		t.Errorf("NewRateLimiter at the bounds = %v, %v", l, err)
	}
	if l := newTestLimiter(t, b.client, 1, 1500*time.Nanosecond+time.Millisecond); l.Window() != time.Millisecond+time.Microsecond {
		t.Errorf("Window() = %v, want the window truncated to microseconds", l.Window())
	}

	l := newTestLimiter(t, b.client, 10, time.Second)
	calls := []struct {
		name string
		call func() error
		want error
	}{
		{"empty key", func() error { _, err := l.Allow(ctx, ""); return err }, ErrEmptyKey},
		{"zero n", func() error { _, err := l.AllowN(ctx, "k", 0); return err }, ErrInvalidCount},
		{"negative n", func() error { _, err := l.AllowN(ctx, "k", -1); return err }, ErrInvalidCount},
		{"n over the limit", func() error { _, err := l.AllowN(ctx, "k", 11); return err }, ErrInvalidCount},
		{"Reset of an empty key", func() error { return l.Reset(ctx, "") }, ErrEmptyKey},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// A key of the library's own form could be another limiter's state.
	if _, err := l.Allow(ctx, mustKey(t, "k", kindRateLog)); !errors.Is(err, ErrReservedKey) {
		t.Errorf("Allow(a derived key) = %v, want ErrReservedKey", err)
	}
	if sent := b.sent.Take(); len(sent) != 0 {
		t.Errorf("commands sent by refused calls: %v", sent)
	}
}
