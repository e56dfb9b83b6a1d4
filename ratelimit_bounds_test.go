package redislua

import (
	"context"
	"errors"
	"math"
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
	if sent := b.sent.take(); len(sent) != 0 {
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
