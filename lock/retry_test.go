package lock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	"github.com/redislua/redislua/internal/testbackend"
)

func TestRetryStrategies(t *testing.T) {
	if d, ok := NoRetry().Backoff(1); ok {
		t.Errorf("NoRetry().Backoff(1) = %v, true; want false", d)
	}
	if d, ok := LinearRetry(0).Backoff(7); !ok || d != time.Millisecond {
		t.Errorf("LinearRetry(0).Backoff(7) = %v, %v; want 1ms, true", d, ok)
	}
	if d, ok := LinearRetry(time.Second).Backoff(1000); !ok || d != time.Second {
		t.Errorf("LinearRetry(1s).Backoff(1000) = %v, %v; want 1s, true", d, ok)
	}
	exp := ExponentialRetry(10*time.Millisecond, 100*time.Millisecond)
	for _, tc := range []struct {
		attempt int
		ceiling time.Duration
	}{{1, 10 * time.Millisecond}, {2, 20 * time.Millisecond}, {4, 80 * time.Millisecond}, {5, 100 * time.Millisecond}, {1 << 30, 100 * time.Millisecond}} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d, ok := exp.Backoff(tc.attempt)
			if !ok || d < tc.ceiling/2 || d > tc.ceiling {
				t.Fatalf("Backoff(%d) = %v, %v; want in [%v, %v]", tc.attempt, d, ok, tc.ceiling/2, tc.ceiling)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("Backoff(%d) took only %d values in 200 calls: no jitter", tc.attempt, len(seen))
		}
	}
	if d, _ := ExponentialRetry(-1, -1).Backoff(3); d < 0 || d > time.Millisecond {
		t.Errorf("ExponentialRetry(-1, -1).Backoff(3) = %v, want at most 1ms", d)
	}
	// Doubling a wait above half the largest Duration would overflow it.
	huge := ExponentialRetry(math.MaxInt64/2+1, math.MaxInt64)
	for attempt := 1; attempt <= 3; attempt++ {
		if d, ok := huge.Backoff(attempt); !ok || d < math.MaxInt64/4 {
			t.Errorf("ExponentialRetry(MaxInt64/2+1, MaxInt64).Backoff(%d) = %v, %v; want at least MaxInt64/4", attempt, d, ok)
		}
	}
	limited := LimitRetry(LinearRetry(time.Second), 2)
	for attempt, want := range []bool{1: true, 2: true, 3: false, 4: false} {
		if attempt == 0 {
			continue
		}
		if _, ok := limited.Backoff(attempt); ok != want {
			t.Errorf("LimitRetry(_, 2).Backoff(%d) retries = %v, want %v", attempt, ok, want)
		}
	}
	if _, ok := LimitRetry(nil, -1).Backoff(1); ok {
		t.Error("LimitRetry(nil, -1) retries")
	}
}

// badRetry is a RetryStrategy that retries at once: a zero or negative
// wait.
type badRetry struct{ wait time.Duration }

func (r badRetry) Backoff(int) (time.Duration, bool) { return r.wait, true }

// A strategy that returns a zero or negative wait does not turn Acquire,
// or Refresh after a transient error, into a loop hammering Redis (or the
// CPU): each waits at least 1ms, as the built-in strategies do.
func TestLockWaitsAtLeast1msWhateverTheStrategy(t *testing.T) {
	const period = 150 * time.Millisecond
	const most = int(period/time.Millisecond) + 20 // one attempt a millisecond, and a few more
	for _, wait := range []time.Duration{0, -time.Hour} {
		t.Run(fmt.Sprintf("Acquire/%v", wait), func(t *testing.T) {
			b := testbackend.Real(t)
			ctx := context.Background()
			const key = "lock-test:{bad-retry}"
			if err := mustNew(t, b.Client, key, nil).Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			b.Sent.Take()
			actx, cancel := context.WithTimeout(ctx, period)
			defer cancel()
			err := mustNew(t, b.Client, key, &Options{Retry: badRetry{wait}}).Acquire(actx)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Acquire: got %v, want the context's error", err)
			}
			if n := testbackend.Count(b.Sent.Take(), "evalsha"); n > most {
				t.Errorf("%d attempts in %v, want at most %d", n, period, most)
			}
		})
		t.Run(fmt.Sprintf("Refresh/%v", wait), func(t *testing.T) {
			b := testbackend.Real(t)
			ctx := context.Background()
			if err := refreshScript.Load(ctx, b.Client); err != nil {
				t.Fatal(err)
			}
			fault := &scriptFault{sha: refreshScript.SHA(), err: io.EOF} // fails at once, sending nothing
			fault.remaining.Store(1 << 30)
			b.Client.AddHook(fault)
			l := mustNew(t, b.Client, "lock-test:{bad-refresh-retry}", &Options{TTL: period, RefreshRetry: badRetry{wait}})
			if err := l.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			if err := l.Refresh(ctx, 0); !errors.Is(err, ErrNotHeld) {
				t.Fatalf("Refresh: got %v, want ErrNotHeld at the deadline", err)
			}
			if n := 1<<30 - int(fault.remaining.Load()); n > most {
				t.Errorf("%d refreshes before a %v deadline, want at most %d", n, period, most)
			}
		})
	}
}
