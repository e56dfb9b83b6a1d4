package ratelimit

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/testbackend"
)

// The counter, with the server's clock set by the test: results follow
// the formula current + previous * (share of the previous window left).
// On miniredis and on a redis-server.
func TestCounterTimeline(t *testing.T) {
	forEachClock(t, testCounterTimeline)
}

func testCounterTimeline(t *testing.T, k *clock) {
	l := k.limiter(t, 10, 10*time.Second, counterOpts)
	const s, us = time.Second, time.Microsecond
	runSteps(t, k, l, "counter", []step{
		// Window 0 fills at once.
		{0, 10, Result{Allowed: true, Remaining: 0, RetryAfter: 0, ResetAfter: 20 * s}, -1},
		// Refused: in window 1 the 10 count as 10 * (10 s - e) / 10 s, which
		// leaves room for one call from e = 1 s, 11 s from now.
		{0, 1, Result{Allowed: false, Remaining: 0, RetryAfter: 11 * s, ResetAfter: 20 * s}, -1},
		{11*s - us, 1, Result{Allowed: false, Remaining: 0, RetryAfter: us, ResetAfter: 9*s + us}, -1},
		{11 * s, 1, Result{Allowed: true, Remaining: 0, RetryAfter: 0, ResetAfter: 19 * s}, -1},
		// At 15 s: 1 + 10 * 5/10 = 6 counted, 4 remain.
		{15 * s, 4, Result{Allowed: true, Remaining: 0, RetryAfter: 0, ResetAfter: 15 * s}, -1},
		// 5 + 10 * (10 - e)/10 <= 9 from e = 6 s, at 16 s.
		{15 * s, 1, Result{Allowed: false, Remaining: 0, RetryAfter: 1 * s, ResetAfter: 15 * s}, -1},
		// At 25 s (window 2): 0 + 5 * 5/10 = 2.5 counted, so 7 remain; after
		// this call 1 + 2.5 = 3.5, rounded up, leaves 6.
		{25 * s, 1, Result{Allowed: true, Remaining: 6, RetryAfter: 0, ResetAfter: 15 * s}, -1},
		// Two windows idle: nothing counts.
		{50 * s, 1, Result{Allowed: true, Remaining: 9, RetryAfter: 0, ResetAfter: 20 * s}, -1},
		// AllowN(limit) needs nothing counted: the call at 50 s counts
		// through window 6, so 10 are admitted from 70 s.
		{55 * s, 10, Result{Allowed: false, Remaining: 9, RetryAfter: 15 * s, ResetAfter: 15 * s}, -1},
		{70*s - us, 10, Result{Allowed: false, Remaining: 9, RetryAfter: us, ResetAfter: us}, -1},
		{70 * s, 10, Result{Allowed: true, Remaining: 0, RetryAfter: 0, ResetAfter: 20 * s}, -1},
	})
}

// When the server's clock is behind the counter's stored window (stepped
// back, or a failover to a node whose clock is behind), the counter holds
// time at that window's start and adds the lag to what it reports: waits
// are real time on the clock, and the key lives until its counts stop
// mattering on the clock, not a lag earlier. A test cannot move a real
// server's clock, so it writes the counter as a call ahead of the clock
// would have, a window index in the future.
func TestCounterAheadOfTheClock(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		const (
			limit  = 3
			window = 10 * time.Second
			ahead  = 50 * time.Second
			slack  = 2 * time.Second // the test's own time, on a loaded machine
		)
		l := newTestLimiter(t, b.Client, limit, window, counterOpts)
		key := testKey(t, "ahead")
		counter := mustKey(t, key, keyspace.KindRateCount)

		now, err := b.Client.Time(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		w := now.Add(ahead).UnixMicro() / window.Microseconds()
		lag := time.Duration(w*window.Microseconds())*time.Microsecond - time.Duration(now.UnixMicro())*time.Microsecond
		if err := b.Client.HSet(ctx, counter, "w", strconv.FormatInt(w, 10), "c", "2", "p", "0").Err(); err != nil {
			t.Fatal(err)
		}
		if err := b.Client.PExpire(ctx, counter, lag+2*window).Err(); err != nil {
			t.Fatal(err)
		}
		// inRange reports whether d is within slack below want, or at most
		// a millisecond above it (the TTL's rounding).
		inRange := func(d, want time.Duration) bool { return d > want-slack && d <= want+time.Millisecond }

		// Admitted in the held window: its counts matter until the end of
		// the window after it, 2 windows after the held time.
		r := allowN(t, l, key, 1)
		if !r.Allowed || r.Remaining != 0 || !inRange(r.ResetAfter, lag+2*window) {
			t.Errorf("call in the held window: %+v, want allowed, Remaining 0, ResetAfter about %v", r, lag+2*window)
		}
		if ttl, err := b.Client.PTTL(ctx, counter).Result(); err != nil || !inRange(ttl, lag+2*window) {
			t.Errorf("PTTL after an admitted call = %v, %v; want about %v: the call must not shorten it", ttl, err, lag+2*window)
		}
		// Refused: in the next window the 3 count as 3 * (10 s - e) / 10 s,
		// which leaves room for one call from e = 3.333334 s.
		want := lag + window + 3333334*time.Microsecond
		r = allowN(t, l, key, 1)
		if r.Allowed || !inRange(r.RetryAfter, want) || !inRange(r.ResetAfter, lag+2*window) {
			t.Errorf("call over the limit: %+v, want refused, RetryAfter about %v, ResetAfter about %v", r, want, lag+2*window)
		}
	})
}

// Two sliding counters with different windows on one key: the counts are
// the first one's, and the second is refused with ErrWindowMismatch,
// writing nothing, while the first keeps its exact budget. Before, the
// 10ms counter overwrote the hour counter's counts, and each later call of
// the hour counter wrote its count and then failed on PEXPIRE ("value is
// not an integer or out of range"): it read the 10ms window's index as a
// clock 10^20 µs behind.
func TestCounterRefusesAnotherWindowsCounts(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		hour := newTestLimiter(t, b.Client, 3, time.Hour, counterOpts)
		fast := newTestLimiter(t, b.Client, 100, 10*time.Millisecond, counterOpts)
		key := testKey(t, "windows")
		counter := mustKey(t, key, keyspace.KindRateCount)

		allowN(t, hour, key, 1)
		before := b.Client.HGetAll(ctx, counter).Val()
		for i := 0; i < 3; i++ {
			time.Sleep(15 * time.Millisecond) // a new 10ms window each time
			if r, err := fast.Allow(ctx, key); !errors.Is(err, ErrWindowMismatch) || r != (Result{}) {
				t.Fatalf("10ms counter on the hour counter's key = %+v, %v; want ErrWindowMismatch", r, err)
			}
		}
		if after := b.Client.HGetAll(ctx, counter).Val(); !maps.Equal(after, before) {
			t.Errorf("the refused calls changed the counts: %v, want %v", after, before)
		}
		for i, want := range []bool{true, true, false} {
			if r, err := hour.Allow(ctx, key); err != nil || r.Allowed != want {
				t.Errorf("hour counter, call %d = %+v, %v; want allowed %v", i+2, r, err, want)
			}
		}

		// Reset frees the key for any window.
		if err := fast.Reset(ctx, key); err != nil {
			t.Fatal(err)
		}
		if r, err := fast.Allow(ctx, key); err != nil || !r.Allowed {
			t.Errorf("10ms counter after Reset = %+v, %v; want allowed", r, err)
		}
		before = b.Client.HGetAll(ctx, counter).Val()
		if r, err := hour.Allow(ctx, key); !errors.Is(err, ErrWindowMismatch) || r != (Result{}) {
			t.Errorf("hour counter on the 10ms counter's key = %+v, %v; want ErrWindowMismatch", r, err)
		}
		if after := b.Client.HGetAll(ctx, counter).Val(); !maps.Equal(after, before) {
			t.Errorf("the refused call changed the counts: %v, want %v", after, before)
		}
	})
}
