package redislua

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"
)

// Fences pass 2^53, where a Lua number (a double) can no longer hold every
// integer, strictly increasing and exact.
func TestLockFencesAreExactAbove2To53(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const key = "lock-test:{fence-2-53}"
		const seed int64 = 1<<53 - 2
		l := NewLock(b.client, key, nil)
		if err := b.client.Set(ctx, l.FenceKey(), seed, 0).Err(); err != nil {
			t.Fatal(err)
		}
		for i := int64(1); i <= 4; i++ {
			if err := l.Acquire(ctx); err != nil {
				t.Fatalf("acquisition %d: %v", i, err)
			}
			if got, want := l.Fence(), seed+i; got != want {
				t.Errorf("acquisition %d: Fence() = %d, want %d", i, got, want)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := b.client.Get(ctx, l.FenceKey()).Val(), strconv.FormatInt(seed+4, 10); got != want {
			t.Errorf("fence counter holds %s, want %s", got, want)
		}

		// A resent attempt (its first reply lost) reads the counter back,
		// exactly too.
		keys := []string{key, l.FenceKey()}
		for i := range 2 {
			ok, fence, err := l.attempt(ctx, "resent-token")
			if err != nil || !ok {
				t.Fatalf("attempt %d: %v, %v", i+1, ok, err)
			}
			if want := seed + 5; fence != want {
				t.Errorf("attempt %d with one token: fence %d, want %d", i+1, fence, want)
			}
		}
		if err := lockRelease.Run(ctx, b.client, keys[:1], "resent-token", l.channel).Err(); err != nil {
			t.Fatal(err)
		}
	})
}

// A counter written below -2^53 (a Lua number cannot hold every integer
// there either) still issues exact, strictly increasing fences.
func TestLockFencesAreExactBelowMinus2To53(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l := NewLock(b.client, "lock-test:{fence-negative}", nil)
		const seed int64 = math.MinInt64
		if err := b.client.Set(ctx, l.FenceKey(), seed, 0).Err(); err != nil {
			t.Fatal(err)
		}
		for i := int64(1); i <= 3; i++ {
			if err := l.Acquire(ctx); err != nil {
				t.Fatalf("acquisition %d: %v", i, err)
			}
			if got, want := l.Fence(), seed+i; got != want {
				t.Errorf("acquisition %d: Fence() = %d, want %d", i, got, want)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// A fence counter that cannot issue a larger fence refuses the
// acquisition with a typed error, and the script undoes it: the lock key
// is not left behind, and the Lock holds nothing.
func TestLockRefusesAFenceCounterThatCannotIncrease(t *testing.T) {
	cases := []struct {
		name  string
		seed  func(ctx context.Context, b backend, fenceKey string) error
		want  []error
		after string // what the counter must still hold; "" for a list
	}{
		{
			name: "at the largest int64",
			seed: func(ctx context.Context, b backend, k string) error {
				return b.client.Set(ctx, k, int64(math.MaxInt64), 0).Err()
			},
			want: []error{ErrFenceExhausted}, after: strconv.FormatInt(math.MaxInt64, 10),
		},
		{
			name: "not an integer",
			seed: func(ctx context.Context, b backend, k string) error { return b.client.Set(ctx, k, "abc", 0).Err() },
			want: []error{ErrNotInteger}, after: "abc",
		},
		{
			name: "a list",
			seed: func(ctx context.Context, b backend, k string) error { return b.client.RPush(ctx, k, "1").Err() },
			want: []error{ErrNotInteger, ErrWrongType},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				ctx := context.Background()
				const key = "lock-test:{fence-refused}"
				l := NewLock(b.client, key, nil)
				if err := tc.seed(ctx, b, l.FenceKey()); err != nil {
					t.Fatal(err)
				}
				check := func(call string, err error) {
					t.Helper()
					for _, want := range tc.want {
						if !errors.Is(err, want) {
							t.Errorf("%s: got %v, want an error matching %v", call, err, want)
						}
					}
					if errors.Is(err, ErrNotAcquired) {
						t.Errorf("%s: %v matches ErrNotAcquired; the counter is at fault, not contention", call, err)
					}
					if n := b.client.Exists(ctx, key).Val(); n != 0 {
						t.Errorf("%s: the lock key exists after a refused acquisition", call)
					}
					if tok := l.Token(); tok != "" {
						t.Errorf("%s: the Lock holds token %q after a refused acquisition", call, tok)
					}
				}
				// The script itself undoes the SET: no release follows attempt.
				ok, _, err := l.attempt(ctx, "tok")
				if ok {
					t.Error("attempt: got true")
				}
				check("one attempt", err)
				actx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				check("Acquire", l.Acquire(actx))
				ok, err = l.TryAcquire(ctx)
				if ok {
					t.Error("TryAcquire: got true")
				}
				check("TryAcquire", err)
				if tc.after != "" {
					if got := b.client.Get(ctx, l.FenceKey()).Val(); got != tc.after {
						t.Errorf("fence counter holds %q, want %q unchanged", got, tc.after)
					}
				}
			})
		})
	}
}

// The largest fence is issued, once.
func TestLockIssuesTheLargestFenceOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l := NewLock(b.client, "lock-test:{fence-max}", nil)
		if err := b.client.Set(ctx, l.FenceKey(), int64(math.MaxInt64-1), 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := l.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		if got := l.Fence(); got != math.MaxInt64 {
			t.Errorf("Fence() = %d, want %d", got, int64(math.MaxInt64))
		}
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.Acquire(ctx); !errors.Is(err, ErrFenceExhausted) {
			t.Errorf("next Acquire: got %v, want ErrFenceExhausted", err)
		}
	})
}
