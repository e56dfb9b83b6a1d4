package redislua

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Windows the scripts cannot time exactly are refused before anything is
// sent; the longest accepted one gives exact, non-negative results on a
// real server, for both limiters.
func TestRateLimiterWindowBounds(t *testing.T) {
	b := forMiniredis(t)
	for _, w := range []time.Duration{MaxRateWindow + time.Microsecond, math.MaxInt64} {
		for _, v := range rateVariants {
			if l, err := NewRateLimiter(b.client, 1, w, v.opts...); !errors.Is(err, ErrInvalidWindow) {
				t.Errorf("%s: NewRateLimiter(window %v) = %v, %v; want ErrInvalidWindow", v.name, w, l, err)
			}
		}
	}
	if sent := b.sent.Take(); len(sent) != 0 {
		t.Errorf("commands sent by refused constructors: %v", sent)
	}

	r := realRedis(t)
	for _, v := range rateVariants {
		l := newTestLimiter(t, r.client, 2, MaxRateWindow, v.opts...)
		key := rateKey(t, v.name)
		first := allowN(t, l, key, 2)
		if !first.Allowed || first.Remaining != 0 || first.ResetAfter <= 0 {
			t.Errorf("%s: AllowN(2) at MaxRateWindow = %+v, want allowed, Remaining 0, ResetAfter > 0", v.name, first)
		}
		got := allowN(t, l, key, 1)
		if got.Allowed || got.Remaining != 0 || got.RetryAfter <= 0 || got.RetryAfter > got.ResetAfter || got.ResetAfter > 2*MaxRateWindow {
			t.Errorf("%s: call over the limit at MaxRateWindow = %+v, want refused, 0 < RetryAfter <= ResetAfter <= 2 windows", v.name, got)
		}
		// The log's wait is exact: the first calls leave a window after
		// they were made, which was at most a few seconds ago.
		if v.name == "log" && (got.RetryAfter > MaxRateWindow || got.RetryAfter < MaxRateWindow-5*time.Second || got.ResetAfter != got.RetryAfter) {
			t.Errorf("log: call over the limit at MaxRateWindow = %+v, want RetryAfter = ResetAfter, just under %v", got, MaxRateWindow)
		}
	}
}

// replyScripter answers every script with one reply, as a server that
// misbehaves (or a future script) might.
type replyScripter struct {
	redis.Scripter
	reply []any
}

func (s replyScripter) EvalSha(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return redis.NewCmdResult(s.reply, nil)
}

// Whatever the scripts answer, a result is never negative: Remaining is
// between 0 and the limit, RetryAfter is 0 when allowed and positive when
// refused, ResetAfter is at least 0, and durations too long for a
// time.Duration are capped rather than wrapped.
func TestRateLimiterResultNeverNegative(t *testing.T) {
	huge := int64(math.MaxInt64 / 10) // µs: overflows as nanoseconds
	cases := []struct {
		reply []any
		want  RateResult
	}{
		{[]any{int64(0), int64(-3), int64(-5), int64(-7)}, RateResult{false, 0, time.Microsecond, 0}},
		{[]any{int64(0), int64(0), int64(0), int64(0)}, RateResult{false, 0, time.Microsecond, 0}},
		{[]any{int64(1), int64(-1), int64(-5), int64(-7)}, RateResult{true, 0, 0, 0}},
		{[]any{int64(1), int64(11), int64(5), int64(7)}, RateResult{true, 10, 0, 7 * time.Microsecond}},
		{[]any{int64(0), int64(2), huge, huge}, RateResult{false, 2, math.MaxInt64, math.MaxInt64}},
	}
	for _, v := range rateVariants {
		for _, c := range cases {
			l := newTestLimiter(t, replyScripter{reply: c.reply}, 10, time.Second, v.opts...)
			if got := allowN(t, l, "k", 1); got != c.want {
				t.Errorf("%s: reply %v gives %+v, want %+v", v.name, c.reply, got, c.want)
			}
		}
	}
}

// The log takes at most MaxLogAllowN calls at once, whatever its limit,
// and refuses more before sending anything; the counter takes up to its
// limit.
func TestRateLimiterLogCountBound(t *testing.T) {
	b := forMiniredis(t)
	ctx := context.Background()
	l := newTestLimiter(t, b.client, 1000, time.Minute)
	for _, n := range []int{MaxLogAllowN + 1, 1000} {
		if r, err := l.AllowN(ctx, "k", n); !errors.Is(err, ErrInvalidCount) {
			t.Errorf("log: AllowN(%d) = %+v, %v; want ErrInvalidCount", n, r, err)
		}
	}
	if sent := b.sent.Take(); len(sent) != 0 {
		t.Errorf("commands sent by refused calls: %v", sent)
	}
	if r := allowN(t, l, "k", MaxLogAllowN); !r.Allowed || r.Remaining != 1000-MaxLogAllowN {
		t.Errorf("log: AllowN(MaxLogAllowN) = %+v, want allowed, Remaining %d", r, 1000-MaxLogAllowN)
	}
	c := newTestLimiter(t, b.client, 1000, time.Minute, WithSlidingCounter())
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
func TestRateLimiterLogTrimIsBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const (
			limit  = 300
			window = 10 * time.Second
			burst  = 1000 // calls that left the window together
			trim   = 128  // removed per call
			slack  = 2 * time.Second
		)
		l := newTestLimiter(t, b.client, limit, window)
		key := rateKey(t, "burst")
		log := mustKey(t, key, kindRateLog)
		now, err := b.client.Time(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		old := now.Add(-2 * window).UnixMicro()
		members := make([]redis.Z, burst)
		for i := range members {
			members[i] = redis.Z{Score: float64(old), Member: fmt.Sprintf("%d:%d", old, i)}
		}
		if err := b.client.ZAdd(ctx, log, members...).Err(); err != nil {
			t.Fatal(err)
		}
		if err := b.client.PExpire(ctx, log, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		zcard := func() int {
			t.Helper()
			n, err := b.client.ZCard(ctx, log).Result()
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
// more than the limit.
func TestRateLimiterLogExactWithLeftovers(t *testing.T) {
	t.Parallel()
	const (
		limit  = 300
		window = 10 * time.Second
	)
	k := newClock(t)
	l := newTestLimiter(t, k.c, limit, window)
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
		if size, err := k.c.ZCard(context.Background(), mustKey(t, "exact", kindRateLog)).Result(); err != nil || size > limit {
			t.Fatalf("call %d: ZCARD = %d, %v; want at most %d", i, size, err, limit)
		}
	}
	if got := maxInWindow(admitted, window); got != limit {
		t.Errorf("most calls admitted in a window = %d, want %d", got, limit)
	}
}
