package redislua

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// When the server's clock is behind the counter's stored window (stepped
// back, or a failover to a node whose clock is behind), the counter holds
// time at that window's start and adds the lag to what it reports: waits
// are real time on the clock, and the key lives until its counts stop
// mattering on the clock, not a lag earlier. A test cannot move a real
// server's clock, so it writes the counter as a call ahead of the clock
// would have, a window index in the future.
func TestRateLimiterCounterAheadOfTheClock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const (
			limit  = 3
			window = 10 * time.Second
			ahead  = 50 * time.Second
			slack  = 2 * time.Second // the test's own time, on a loaded machine
		)
		l := newTestLimiter(t, b.client, limit, window, WithSlidingCounter())
		key := rateKey(t, "ahead")
		counter := mustKey(t, key, kindRateCount)

		now, err := b.client.Time(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		w := now.Add(ahead).UnixMicro() / window.Microseconds()
		lag := time.Duration(w*window.Microseconds())*time.Microsecond - time.Duration(now.UnixMicro())*time.Microsecond
		if err := b.client.HSet(ctx, counter, "w", strconv.FormatInt(w, 10), "c", "2", "p", "0").Err(); err != nil {
			t.Fatal(err)
		}
		if err := b.client.PExpire(ctx, counter, lag+2*window).Err(); err != nil {
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
		if ttl, err := b.client.PTTL(ctx, counter).Result(); err != nil || !inRange(ttl, lag+2*window) {
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
