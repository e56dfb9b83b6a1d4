package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/testbackend"
)

// The log, with the server's clock set by the test: exact results, and
// calls leave the window exactly one window after they were made. On
// miniredis and on a redis-server: the same Lua, two interpreters.
func TestLogTimeline(t *testing.T) {
	forEachClock(t, testLogTimeline)
}

func testLogTimeline(t *testing.T, k *clock) {
	l := k.limiter(t, 3, 10*time.Second, nil)
	const s, us = time.Second, time.Microsecond
	runSteps(t, k, l, "log", []step{
		{0, 1, Result{Allowed: true, Remaining: 2, RetryAfter: 0, ResetAfter: 10 * s}, 1},
		{4 * s, 1, Result{Allowed: true, Remaining: 1, RetryAfter: 0, ResetAfter: 10 * s}, 2},
		{8 * s, 1, Result{Allowed: true, Remaining: 0, RetryAfter: 0, ResetAfter: 10 * s}, 3},
		// Full: the call at 0 leaves at 10 s, the one at 8 s at 18 s.
		{9 * s, 1, Result{Allowed: false, Remaining: 0, RetryAfter: 1 * s, ResetAfter: 9 * s}, 3},
		{10*s - us, 1, Result{Allowed: false, Remaining: 0, RetryAfter: us, ResetAfter: 8*s + us}, 3},
		// The call at 0 has left: not counted, and kept until 8 have left.
		{10 * s, 1, Result{Allowed: true, Remaining: 0, RetryAfter: 0, ResetAfter: 10 * s}, 4},
		// Two calls need the two oldest (4 s and 8 s) gone: at 18 s.
		{13 * s, 2, Result{Allowed: false, Remaining: 0, RetryAfter: 5 * s, ResetAfter: 7 * s}, 4},
		{18*s - us, 2, Result{Allowed: false, Remaining: 1, RetryAfter: us, ResetAfter: 2*s + us}, 4},
		{18 * s, 2, Result{Allowed: true, Remaining: 0, RetryAfter: 0, ResetAfter: 10 * s}, 6},
		// Long idle: everything has left, 6 calls; 7 with this one.
		{60 * s, 1, Result{Allowed: true, Remaining: 2, RetryAfter: 0, ResetAfter: 10 * s}, 7},
		// All 7 have left, fewer than 8: kept. Refused calls write
		// nothing; once 8 or more have left, the next admitted call
		// removes them all.
		{70*s + us, 3, Result{Allowed: true, Remaining: 0, RetryAfter: 0, ResetAfter: 10 * s}, 10},
		{71 * s, 1, Result{Allowed: false, Remaining: 0, RetryAfter: 9*s + us, ResetAfter: 9*s + us}, 10},
		{80*s + us, 1, Result{Allowed: true, Remaining: 2, RetryAfter: 0, ResetAfter: 10 * s}, 1},
	})
}

// Many calls within one microsecond each get their own member: none is
// lost. miniredis with a fixed clock makes every call share one time.
func TestSameMicrosecond(t *testing.T) {
	k := newClock(t)
	l := newTestLimiter(t, k.c, 1000, time.Minute, nil)
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
	if n, err := k.c.ZCard(context.Background(), mustKey(t, "same", keyspace.KindRateLog)).Result(); err != nil || n != 1000 {
		t.Errorf("ZCARD = %d, %v; want 1000", n, err)
	}
}

// Two limiters with different windows on one key (a misuse) trim at
// different bounds at the same instant, so the sequence numbers they derive
// from the log's size can meet; no call may be lost to that.
func TestMemberCollision(t *testing.T) {
	k := newClock(t)
	short := newTestLimiter(t, k.c, 20, time.Second, nil)
	long := newTestLimiter(t, k.c, 20, 2*time.Second, nil)
	allowN(t, short, "shared", 8)     // members "0:0" to "0:7"
	k.at(1500 * time.Millisecond)     // now 1.5 s:
	allowN(t, long, "shared", 1)      // trims nothing, adds "1.5:8"
	allowN(t, short, "shared", 7)     // 8 have left: trims them, adds "1.5:1" to "1.5:7"
	r := allowN(t, long, "shared", 1) // "1.5:8" exists: must add another
	if n, err := k.c.ZCard(context.Background(), mustKey(t, "shared", keyspace.KindRateLog)).Result(); err != nil || n != 9 || !r.Allowed || r.Remaining != 11 {
		t.Errorf("ZCARD = %d (%v), last call %+v; want 9 members and Remaining 11", n, err, r)
	}
}

// The log takes at most MaxLogAllowN calls at once, whatever its limit,
// and refuses more before sending anything; the counter takes up to its
// limit.
func TestLogCountBound(t *testing.T) {
	b := testbackend.Miniredis(t)
	ctx := context.Background()
	l := newTestLimiter(t, b.Client, 1000, time.Minute, nil)
	for _, n := range []int{MaxLogAllowN + 1, 1000} {
		if r, err := l.AllowN(ctx, "k", n); !errors.Is(err, ErrInvalidCount) {
			t.Errorf("log: AllowN(%d) = %+v, %v; want ErrInvalidCount", n, r, err)
		}
	}
	if sent := b.Sent.Take(); len(sent) != 0 {
		t.Errorf("commands sent by refused calls: %v", sent)
	}
	if r := allowN(t, l, "k", MaxLogAllowN); !r.Allowed || r.Remaining != 1000-MaxLogAllowN {
		t.Errorf("log: AllowN(MaxLogAllowN) = %+v, want allowed, Remaining %d", r, 1000-MaxLogAllowN)
	}
	c := newTestLimiter(t, b.Client, 1000, time.Minute, counterOpts)
	if r := allowN(t, c, "k", 1000); !r.Allowed || r.Remaining != 0 {
		t.Errorf("counter: AllowN(1000) = %+v, want allowed, Remaining 0", r)
	}
}

// A call removes at most 128 of the calls that have left the window, so
// that a burst that leaves all at once does not cost one call the whole
// burst; the ones left over are not counted, and the next calls remove
// them, so the log never holds more than the limit for long. The calls
// that left are written as the script would have a window ago (a test
// cannot move a real server's clock).
func TestLogTrimIsBounded(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		const (
			limit  = 300
			window = 10 * time.Second
			burst  = 1000 // calls that left the window together
			trim   = 128  // removed per call
			slack  = 2 * time.Second
		)
		l := newTestLimiter(t, b.Client, limit, window, nil)
		key := testKey(t, "burst")
		log := mustKey(t, key, keyspace.KindRateLog)
		now, err := b.Client.Time(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		old := now.Add(-2 * window).UnixMicro()
		members := make([]redis.Z, burst)
		for i := range members {
			members[i] = redis.Z{Score: float64(old), Member: fmt.Sprintf("%d:%d", old, i)}
		}
		if err := b.Client.ZAdd(ctx, log, members...).Err(); err != nil {
			t.Fatal(err)
		}
		if err := b.Client.PExpire(ctx, log, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		zcard := func() int {
			t.Helper()
			n, err := b.Client.ZCard(ctx, log).Result()
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}

		// Each call counts only its window, and removes 128 of the rest.
		gone := burst
		for i, n := range []int{1, 128, 128, 43} {
			admitted := 1 + 128*min(i, 2) + 43*(i/3)
			r := allowN(t, l, key, n)
			gone -= trim
			if !r.Allowed || r.Remaining != limit-admitted {
				t.Errorf("AllowN(%d) after %d calls: %+v, want allowed, Remaining %d", n, admitted-n, r, limit-admitted)
			}
			if got, want := zcard(), gone+admitted; got != want {
				t.Errorf("ZCARD after AllowN(%d) = %d, want %d (%d left over, %d in the window)", n, got, want, gone, admitted)
			}
		}
		// Full: the wait is for the oldest call in the window (made now),
		// not one of those left over.
		inRange := func(d, want time.Duration) bool { return d > want-slack && d <= want }
		r := allowN(t, l, key, 1)
		if r.Allowed || r.Remaining != 0 || !inRange(r.RetryAfter, window) || !inRange(r.ResetAfter, window) {
			t.Errorf("call over the limit: %+v, want refused, RetryAfter and ResetAfter about %v", r, window)
		}
		// Refused calls write nothing, not even the trim: the set does not
		// grow while they refuse, and the next admitted call trims.
		if got, want := zcard(), gone+limit; got != want {
			t.Errorf("ZCARD after a refused call = %d, want %d, as before it", got, want)
		}
	})
}

// With calls left over from past windows, the log stays exact: random
// AllowN requests at random times, on a clock the test sets, never get
// more than the limit admitted in any window, and the log never holds
// more than the limit plus the 7 calls that may wait to be removed.
func TestLogExactWithLeftovers(t *testing.T) {
	t.Parallel()
	const (
		limit  = 300
		window = 10 * time.Second
	)
	k := newClock(t)
	l := newTestLimiter(t, k.c, limit, window, nil)
	r := rand.New(rand.NewPCG(7, 1))
	var admitted []time.Duration // one entry per admitted call
	var at time.Duration
	for i := range 1000 {
		// Mostly close together, sometimes a whole window or more apart,
		// so that bursts leave together.
		if i%100 == 99 {
			at += window + time.Duration(r.Int64N(int64(window)))
		} else {
			at += time.Duration(r.Int64N(int64(window / 50))).Truncate(time.Microsecond)
		}
		k.at(at)
		n := 1 + r.IntN(MaxLogAllowN)
		if allowN(t, l, "exact", n).Allowed {
			for range n {
				admitted = append(admitted, at)
			}
		}
		if size, err := k.c.ZCard(context.Background(), mustKey(t, "exact", keyspace.KindRateLog)).Result(); err != nil || size > limit+7 {
			t.Fatalf("call %d: ZCARD = %d, %v; want at most %d", i, size, err, limit+7)
		}
	}
	if got := maxInWindow(admitted, window); got != limit {
		t.Errorf("most calls admitted in a window = %d, want %d", got, limit)
	}
}

// The log's TTL follows its newest call: a key the call creates gets one
// window and 0.1 s, a call leaves a TTL of more than a window alone and
// extends a shorter one, and a key whose TTL was removed gets one again.
func TestLogExpiry(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		const window = 10 * time.Second
		l := newTestLimiter(t, b.Client, 100, window, nil)
		key := testKey(t, "expiry")
		log := mustKey(t, key, keyspace.KindRateLog)
		checkTTL := func(step string) {
			t.Helper()
			ttl, err := b.Client.PTTL(ctx, log).Result()
			if err != nil || ttl <= window-2*time.Second || ttl > window+100*time.Millisecond {
				t.Errorf("%s: PTTL = %v, %v; want about %v", step, ttl, err, window+100*time.Millisecond)
			}
		}
		setTTL := func(ttl time.Duration) {
			t.Helper()
			if err := b.Client.PExpire(ctx, log, ttl).Err(); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			if r := allowN(t, l, key, 1); !r.Allowed || r.ResetAfter != window {
				t.Errorf("call %d: %+v, want allowed with ResetAfter %v", i, r, window)
			}
			checkTTL(fmt.Sprintf("after call %d", i))
		}
		if err := b.Client.Persist(ctx, log).Err(); err != nil {
			t.Fatal(err)
		}
		if r := allowN(t, l, key, 1); !r.Allowed || r.ResetAfter != window || r.Remaining != 96 {
			t.Errorf("call after PERSIST: %+v, want allowed with ResetAfter %v, Remaining 96", r, window)
		}
		checkTTL("after PERSIST and a call")

		// More than a window left: kept (it covers the call), and
		// ResetAfter is still the window.
		setTTL(window + 50*time.Millisecond)
		if r := allowN(t, l, key, 1); !r.Allowed || r.ResetAfter != window {
			t.Errorf("call with a TTL above the window: %+v, want allowed with ResetAfter %v", r, window)
		}
		if ttl, err := b.Client.PTTL(ctx, log).Result(); err != nil || ttl > window+50*time.Millisecond || ttl <= window-2*time.Second {
			t.Errorf("PTTL after a call with a TTL above the window = %v, %v; want it kept, at most %v", ttl, err, window+50*time.Millisecond)
		}
		// Less than a window left: the call would outlive the key, which
		// gets one window and 0.1 s again.
		setTTL(window - time.Second)
		allowN(t, l, key, 1)
		checkTTL("after a call with a TTL below the window")
		if ttl, err := b.Client.PTTL(ctx, log).Result(); err != nil || ttl < window {
			t.Errorf("PTTL after a call with a TTL below the window = %v, %v; want above %v", ttl, err, window)
		}
	})
}

// When the server's clock is behind calls already recorded (stepped back,
// or a failover to a node whose clock is behind), those calls count until
// the clock has passed their window, and the key lives as long. A test
// cannot move a real server's clock, so it records calls stamped in the
// future instead, as the script would have at that time: members
// "<µs>:<seq>" and a TTL of their time plus the window. Run on real Redis
// and on miniredis (whose TTLs do not follow its clock, which this test
// leaves alone).
func TestLogCallsAheadOfTheClock(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		const (
			limit  = 5
			window = 10 * time.Second
			ahead  = 30 * time.Second // the recorded calls' time, from now
			slack  = 2 * time.Second  // the test's own time, on a loaded machine
		)
		l := newTestLimiter(t, b.Client, limit, window, nil)
		key := testKey(t, "ahead")
		log := mustKey(t, key, keyspace.KindRateLog)

		now, err := b.Client.Time(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		future := now.Add(ahead).UnixMicro()
		for seq := range 2 {
			if err := b.Client.ZAdd(ctx, log, redis.Z{Score: float64(future), Member: fmt.Sprintf("%d:%d", future, seq)}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Client.PExpire(ctx, log, ahead+window).Err(); err != nil {
			t.Fatal(err)
		}
		// inRange reports whether d is within slack below want, or at most
		// a millisecond above it (the TTL's rounding).
		inRange := func(d, want time.Duration) bool { return d > want-slack && d <= want+time.Millisecond }

		// The two calls ahead count; the key keeps their expiry.
		r := allowN(t, l, key, 1)
		if !r.Allowed || r.Remaining != limit-3 || !inRange(r.ResetAfter, ahead+window) {
			t.Errorf("first call: %+v, want allowed, Remaining %d, ResetAfter about %v", r, limit-3, ahead+window)
		}
		if ttl, err := b.Client.PTTL(ctx, log).Result(); err != nil || !inRange(ttl, ahead+window) {
			t.Errorf("PTTL after an admitted call = %v, %v; want about %v: the call must not shorten it", ttl, err, ahead+window)
		}
		if r := allowN(t, l, key, 2); !r.Allowed || r.Remaining != 0 {
			t.Errorf("AllowN(2): %+v, want allowed, Remaining 0", r)
		}

		// Refused: one call fits when the oldest (the first call, made now)
		// has left, a window from now; all have left when the calls ahead
		// have.
		r = allowN(t, l, key, 1)
		if r.Allowed || r.Remaining != 0 || !inRange(r.RetryAfter, window) || !inRange(r.ResetAfter, ahead+window) {
			t.Errorf("call over the limit: %+v, want refused, RetryAfter about %v, ResetAfter about %v", r, window, ahead+window)
		}
		// Four calls need the three made now and one ahead gone: then every
		// call is gone, as the calls ahead were made at one time.
		r = allowN(t, l, key, 4)
		if r.Allowed || !inRange(r.RetryAfter, ahead+window) || r.RetryAfter != r.ResetAfter {
			t.Errorf("AllowN(4): %+v, want refused with RetryAfter = ResetAfter, about %v", r, ahead+window)
		}
		if n, err := b.Client.ZCard(ctx, log).Result(); err != nil || n != limit {
			t.Errorf("ZCARD = %d, %v; want %d", n, err, limit)
		}
	})
}
