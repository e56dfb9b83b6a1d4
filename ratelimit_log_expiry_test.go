package redislua

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The log's TTL follows its newest call: a key the call creates gets one
// window, later calls keep it at one window (PEXPIRE GT, whose reply is 0
// for calls in the same millisecond), and a key whose TTL was removed gets
// one again.
func TestRateLimiterLogExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const window = 10 * time.Second
		l := newTestLimiter(t, b.client, 100, window)
		key := rateKey(t, "expiry")
		log := mustKey(t, key, kindRateLog)
		checkTTL := func(step string) {
			t.Helper()
			ttl, err := b.client.PTTL(ctx, log).Result()
			if err != nil || ttl <= window-2*time.Second || ttl > window {
				t.Errorf("%s: PTTL = %v, %v; want about %v", step, ttl, err, window)
			}
		}
		for i := range 3 {
			if r := allowN(t, l, key, 1); !r.Allowed || r.ResetAfter != window {
				t.Errorf("call %d: %+v, want allowed with ResetAfter %v", i, r, window)
			}
			checkTTL(fmt.Sprintf("after call %d", i))
		}
		if err := b.client.Persist(ctx, log).Err(); err != nil {
			t.Fatal(err)
		}
		if r := allowN(t, l, key, 1); !r.Allowed || r.ResetAfter != window || r.Remaining != 96 {
			t.Errorf("call after PERSIST: %+v, want allowed with ResetAfter %v, Remaining 96", r, window)
		}
		checkTTL("after PERSIST and a call")
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
func TestRateLimiterLogCallsAheadOfTheClock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const (
			limit  = 5
			window = 10 * time.Second
			ahead  = 30 * time.Second // the recorded calls' time, from now
			slack  = 2 * time.Second  // the test's own time, on a loaded machine
		)
		l := newTestLimiter(t, b.client, limit, window)
		key := rateKey(t, "ahead")
		log := mustKey(t, key, kindRateLog)

		now, err := b.client.Time(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		future := now.Add(ahead).UnixMicro()
		for seq := range 2 {
			if err := b.client.ZAdd(ctx, log, redis.Z{Score: float64(future), Member: fmt.Sprintf("%d:%d", future, seq)}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.client.PExpire(ctx, log, ahead+window).Err(); err != nil {
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
		if ttl, err := b.client.PTTL(ctx, log).Result(); err != nil || !inRange(ttl, ahead+window) {
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
		if n, err := b.client.ZCard(ctx, log).Result(); err != nil || n != limit {
			t.Errorf("ZCARD = %d, %v; want %d", n, err, limit)
		}
	})
}
