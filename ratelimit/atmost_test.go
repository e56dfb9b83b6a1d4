package ratelimit

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redislua/redislua/internal/keyspace"
)

// kindOf is the kind of the key variant v keeps.
func kindOf(v variant) string {
	switch v.name {
	case "counter":
		return keyspace.KindRateCount
	case "gcra":
		return keyspace.KindRateGCRA
	}
	return keyspace.KindRateLog
}

// Peek reports the state and writes nothing, for every algorithm.
func TestPeekWritesNothing(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		ctx := context.Background()
		for _, v := range variants {
			t.Run(v.name, func(t *testing.T) {
				l := newTestLimiter(t, srv.c, 10, v.window, v.opts)
				key := testKey(t, "peek")
				if r, err := l.Peek(ctx, key); err != nil || r != (Result{Remaining: 10}) {
					t.Fatalf("Peek of a new key = %+v, %v; want Remaining 10 and nothing else", r, err)
				}
				if n, err := srv.c.Exists(ctx, mustKey(t, key, kindOf(v))).Result(); err != nil || n != 0 {
					t.Fatalf("Peek created the key: %d, %v", n, err)
				}
				allowN(t, l, key, 3)
				for range 3 {
					r, err := l.Peek(ctx, key)
					if err != nil || r.Allowed || r.Admitted != 0 || r.Remaining != 7 || r.RetryAfter != 0 || r.ResetAfter <= 0 {
						t.Fatalf("Peek after 3 calls = %+v, %v; want Remaining 7, a ResetAfter, nothing admitted", r, err)
					}
				}
				if r := allowN(t, l, key, 7); !r.Allowed {
					t.Fatalf("AllowN(7) after the peeks refused: %+v: a peek used something up", r)
				}
			})
		}
	})
}

// AllowAtMost admits as many as fit, at least one, and when none does
// admits nothing and says when one will; the log takes at most
// MaxLogAllowN at once.
func TestAllowAtMost(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		ctx := context.Background()
		for _, v := range variants {
			t.Run(v.name, func(t *testing.T) {
				l := newTestLimiter(t, srv.c, 10, v.window, v.opts)
				key := testKey(t, "most")
				steps := []struct {
					n, admitted, remaining int
				}{
					{4, 4, 6},
					{100, 6, 0},
					{5, 0, 0},
				}
				for i, s := range steps {
					r, err := l.AllowAtMost(ctx, key, s.n)
					if err != nil {
						t.Fatal(err)
					}
					if r.Admitted != s.admitted || r.Allowed != (s.admitted > 0) || r.Remaining != s.remaining || (r.RetryAfter > 0) == r.Allowed {
						t.Errorf("step %d: AllowAtMost(%d) = %+v, want %d admitted, %d remaining", i, s.n, r, s.admitted, s.remaining)
					}
				}
			})
		}
		big := newTestLimiter(t, srv.c, 1000, time.Minute, nil)
		if r, err := big.AllowAtMost(ctx, testKey(t, "big"), 500); err != nil || r.Admitted != MaxLogAllowN || r.Remaining != 1000-MaxLogAllowN {
			t.Errorf("log AllowAtMost(500) = %+v, %v; want MaxLogAllowN admitted", r, err)
		}
	})
}

// Under random requests of every kind (AllowN, AllowAtMost, Peek) on a
// clock the test sets, the log never admits more than the limit in any
// window, and the counter never more than twice the limit (its hard bound;
// the package documentation gives the typical excess).
func TestBoundsUnderRandomRequests(t *testing.T) {
	const limit = 5
	window := 10 * time.Second
	for _, v := range variants[:2] {
		t.Run(v.name, func(t *testing.T) {
			k := newClock(t)
			ctx := context.Background()
			l := newTestLimiter(t, k.c, limit, window, v.opts)
			rng := rand.New(rand.NewPCG(3, 4))
			var at time.Duration
			var times []time.Duration
			for range 2000 {
				at += time.Duration(rng.ExpFloat64() * float64(window) / (3 * limit)) // 3 times the limit
				at = at.Truncate(time.Microsecond)
				k.at(at)
				var r Result
				var err error
				switch n := 1 + rng.IntN(3); rng.IntN(3) {
				case 0:
					r, err = l.AllowN(ctx, "random", n)
				case 1:
					r, err = l.AllowAtMost(ctx, "random", n)
				default:
					r, err = l.Peek(ctx, "random")
				}
				if err != nil {
					t.Fatal(err)
				}
				for range r.Admitted {
					times = append(times, at)
				}
			}
			most := limit
			if v.name == "counter" {
				most = 2 * limit
			}
			// The calls of any window-long interval: from each call,
			// those less than a window after it.
			worst, j := 0, 0
			for i := range times {
				for j < len(times) && times[j]-times[i] < window {
					j++
				}
				worst = max(worst, j-i)
			}
			if worst > most || len(times) < 500 {
				t.Fatalf("%d calls admitted, at most %d in one window; want at most %d", len(times), worst, most)
			}
			t.Logf("%d calls admitted, at most %d in one window (limit %d)", len(times), worst, limit)
		})
	}
}
