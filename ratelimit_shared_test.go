package redislua

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"
)

// Two sliding counters with different windows on one key: the counts are
// the first one's, and the second is refused with ErrWindowMismatch,
// writing nothing, while the first keeps its exact budget. Before, the
// 10ms counter overwrote the hour counter's counts, and each later call of
// the hour counter wrote its count and then failed on PEXPIRE ("value is
// not an integer or out of range"): it read the 10ms window's index as a
// clock 10^20 µs behind.
func TestRateLimiterCounterRefusesAnotherWindowsCounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		hour := newTestLimiter(t, b.client, 3, time.Hour, WithSlidingCounter())
		fast := newTestLimiter(t, b.client, 100, 10*time.Millisecond, WithSlidingCounter())
		key := rateKey(t, "windows")
		counter := mustKey(t, key, kindRateCount)

		allowN(t, hour, key, 1)
		before := b.client.HGetAll(ctx, counter).Val()
		for i := 0; i < 3; i++ {
			time.Sleep(15 * time.Millisecond) // a new 10ms window each time
			if r, err := fast.Allow(ctx, key); !errors.Is(err, ErrWindowMismatch) || r != (RateResult{}) {
				t.Fatalf("10ms counter on the hour counter's key = %+v, %v; want ErrWindowMismatch", r, err)
			}
		}
		if after := b.client.HGetAll(ctx, counter).Val(); !maps.Equal(after, before) {
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
		before = b.client.HGetAll(ctx, counter).Val()
		if r, err := hour.Allow(ctx, key); !errors.Is(err, ErrWindowMismatch) || r != (RateResult{}) {
			t.Errorf("hour counter on the 10ms counter's key = %+v, %v; want ErrWindowMismatch", r, err)
		}
		if after := b.client.HGetAll(ctx, counter).Val(); !maps.Equal(after, before) {
			t.Errorf("the refused call changed the counts: %v, want %v", after, before)
		}
	})
}
