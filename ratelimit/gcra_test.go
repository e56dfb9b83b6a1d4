package ratelimit

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/testbackend"
)

var gcraOpts = &Options{Algorithm: GCRA}

// take makes one request and fails the test on an error.
func take(t *testing.T, call func() (Result, error)) Result {
	t.Helper()
	r, err := call()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The behaviours of go-redis/redis_rate's TestAllow, under a clock the
// test holds still: exact results where redis_rate's test allows 10 ms.
// Differences: RetryAfter is 0 where redis_rate reports -1, and AllowN of
// more than the burst, which can never be admitted, is ErrInvalidCount.
func TestGCRAAllowAsRedisRate(t *testing.T) {
	forEachClock(t, func(t *testing.T, k *clock) {
		ctx := context.Background()
		l := k.limiter(t, 10, time.Second, gcraOpts)
		ms := time.Millisecond
		want := func(step string, got, want Result) {
			t.Helper()
			if got != want {
				t.Errorf("%s: %+v, want %+v", step, got, want)
			}
		}
		want("Allow", take(t, func() (Result, error) { return l.Allow(ctx, "test_id") }),
			Result{Allowed: true, Admitted: 1, Remaining: 9, ResetAfter: 100 * ms})
		if err := l.Reset(ctx, "test_id"); err != nil {
			t.Fatal(err)
		}
		want("Allow after Reset", take(t, func() (Result, error) { return l.Allow(ctx, "test_id") }),
			Result{Allowed: true, Admitted: 1, Remaining: 9, ResetAfter: 100 * ms})
		want("AllowN(2)", take(t, func() (Result, error) { return l.AllowN(ctx, "test_id", 2) }),
			Result{Allowed: true, Admitted: 2, Remaining: 7, ResetAfter: 300 * ms})
		want("AllowN(7)", take(t, func() (Result, error) { return l.AllowN(ctx, "test_id", 7) }),
			Result{Allowed: true, Admitted: 7, Remaining: 0, ResetAfter: 1000 * ms})
		want("Allow when empty", take(t, func() (Result, error) { return l.Allow(ctx, "test_id") }),
			Result{Remaining: 0, RetryAfter: 100 * ms, ResetAfter: 1000 * ms})
		want("AllowN(10) when empty", take(t, func() (Result, error) { return l.AllowN(ctx, "test_id", 10) }),
			Result{Remaining: 0, RetryAfter: 1000 * ms, ResetAfter: 1000 * ms})
		if _, err := l.AllowN(ctx, "test_id", 1000); !errors.Is(err, ErrInvalidCount) {
			t.Errorf("AllowN(1000) over a burst of 10: %v, want ErrInvalidCount", err)
		}
		// Time passes: one interval frees one call.
		k.at(100 * ms)
		want("Allow after 100ms", take(t, func() (Result, error) { return l.Allow(ctx, "test_id") }),
			Result{Allowed: true, Admitted: 1, Remaining: 0, ResetAfter: 1000 * ms})
	})
}

// redis_rate's TestAllowN_IncrementZero and TestAllowAtMost_IncrementZero:
// n = 0 reads the state and writes nothing.
func TestGCRAPeek(t *testing.T) {
	forEachClock(t, func(t *testing.T, k *clock) {
		ctx := context.Background()
		l := k.limiter(t, 10, time.Second, gcraOpts)
		for name, peek := range map[string]func() (Result, error){
			"AllowN(0)":      func() (Result, error) { return l.AllowN(ctx, "peek", 0) },
			"AllowAtMost(0)": func() (Result, error) { return l.AllowAtMost(ctx, "peek", 0) },
			"Peek":           func() (Result, error) { return l.Peek(ctx, "peek") },
		} {
			if err := l.Reset(ctx, "peek"); err != nil {
				t.Fatal(err)
			}
			if r := take(t, peek); r != (Result{Remaining: 10}) {
				t.Errorf("%s of a new key: %+v, want Remaining 10", name, r)
			}
			if n, err := k.c.Exists(ctx, mustKey(t, "peek", keyspace.KindRateGCRA)).Result(); err != nil || n != 0 {
				t.Errorf("%s wrote its key: %d, %v", name, n, err)
			}
			take(t, func() (Result, error) { return l.Allow(ctx, "peek") })
			if r := take(t, peek); r != (Result{Remaining: 9, ResetAfter: 100 * time.Millisecond}) {
				t.Errorf("%s after one call: %+v, want Remaining 9, ResetAfter 100ms", name, r)
			}
		}
	})
}

// redis_rate's TestAllowAtMost: as many as fit, at least one.
func TestGCRAAllowAtMost(t *testing.T) {
	forEachClock(t, func(t *testing.T, k *clock) {
		ctx := context.Background()
		l := k.limiter(t, 10, time.Second, gcraOpts)
		ms := time.Millisecond
		steps := []struct {
			name string
			call func() (Result, error)
			want Result
		}{
			{"Allow", func() (Result, error) { return l.Allow(ctx, "most") }, Result{Allowed: true, Admitted: 1, Remaining: 9, ResetAfter: 100 * ms}},
			{"AllowAtMost(2)", func() (Result, error) { return l.AllowAtMost(ctx, "most", 2) }, Result{Allowed: true, Admitted: 2, Remaining: 7, ResetAfter: 300 * ms}},
			{"Peek", func() (Result, error) { return l.Peek(ctx, "most") }, Result{Remaining: 7, ResetAfter: 300 * ms}},
			{"AllowAtMost(10)", func() (Result, error) { return l.AllowAtMost(ctx, "most", 10) }, Result{Allowed: true, Admitted: 7, Remaining: 0, ResetAfter: 1000 * ms}},
			{"Peek when empty", func() (Result, error) { return l.Peek(ctx, "most") }, Result{Remaining: 0, ResetAfter: 1000 * ms}},
			{"AllowAtMost(1000) when empty", func() (Result, error) { return l.AllowAtMost(ctx, "most", 1000) }, Result{Remaining: 0, RetryAfter: 100 * ms, ResetAfter: 1000 * ms}},
		}
		for _, s := range steps {
			if got := take(t, s.call); got != s.want {
				t.Errorf("%s: %+v, want %+v", s.name, got, s.want)
			}
		}
		k.at(250 * ms) // two and a half intervals: two calls fit
		if got := take(t, func() (Result, error) { return l.AllowAtMost(ctx, "most", 1000) }); got != (Result{Allowed: true, Admitted: 2, Remaining: 0, ResetAfter: 950 * ms}) {
			t.Errorf("AllowAtMost(1000) after 250ms: %+v, want 2 admitted", got)
		}
	})
}

// An emission interval that is not a whole number of microseconds (a
// second / 3) is kept exactly: the fourth call of a burst of 3 fits
// 333,333.33 µs later, not a microsecond sooner, and the thousandth
// interval ends at exactly 333.333... s, not drifting by the rounding of
// each.
func TestGCRAFractionalIntervalIsExact(t *testing.T) {
	forEachClock(t, func(t *testing.T, k *clock) {
		ctx := context.Background()
		l := k.limiter(t, 3, time.Second, gcraOpts)
		us := time.Microsecond
		for i := range 3 {
			if r := take(t, func() (Result, error) { return l.Allow(ctx, "third") }); !r.Allowed {
				t.Fatalf("call %d of a burst of 3 refused: %+v", i+1, r)
			}
		}
		if r := take(t, func() (Result, error) { return l.Allow(ctx, "third") }); r.Allowed || r.RetryAfter != 333334*us || r.ResetAfter != time.Second {
			t.Fatalf("fourth call: %+v, want refused, RetryAfter 333334µs, ResetAfter 1s", r)
		}
		k.at(333333 * us)
		if r := take(t, func() (Result, error) { return l.Allow(ctx, "third") }); r.Allowed || r.RetryAfter != us {
			t.Fatalf("at 333333µs: %+v, want refused, RetryAfter 1µs", r)
		}
		k.at(333334 * us)
		if r := take(t, func() (Result, error) { return l.Allow(ctx, "third") }); !r.Allowed {
			t.Fatalf("at 333334µs: %+v, want allowed", r)
		}
		// Steady demand, one call every 1/3 s: 3000 more calls are
		// admitted over 1000 s, none sooner than its interval.
		admitted := 0
		for i := 2; i <= 3001; i++ {
			at := time.Duration(i) * time.Second / 3 // rounded down to the nanosecond
			k.at(at.Truncate(us))
			if r := take(t, func() (Result, error) { return l.Allow(ctx, "third") }); r.Allowed {
				admitted++
			}
			k.at(at.Truncate(us) + us)
			if r := take(t, func() (Result, error) { return l.Allow(ctx, "third") }); r.Allowed {
				admitted++
			}
		}
		if admitted != 3000 {
			t.Fatalf("%d calls admitted over 3000 intervals, want 3000", admitted)
		}
	})
}

// Per-call limits, as redis_rate takes them: a key's arrival time serves
// every limit with the same period; a lower burst refuses sooner.
func TestGCRAPerCallLimit(t *testing.T) {
	forEachClock(t, func(t *testing.T, k *clock) {
		ctx := context.Background()
		l := k.limiter(t, 100, time.Second, gcraOpts)
		lim := Limit{Rate: 10, Period: time.Second, Burst: 2}
		for i, want := range []bool{true, true, false} {
			r, err := l.AllowWith(ctx, "per-call", lim, 1)
			if err != nil || r.Allowed != want {
				t.Fatalf("call %d under %v: %+v, %v; want allowed %v", i+1, lim, r, err, want)
			}
		}
		if r, err := l.AllowAtMostWith(ctx, "per-call", PerSecond(10), 5); err != nil || r.Admitted != 5 {
			t.Fatalf("AllowAtMostWith(PerSecond(10), 5): %+v, %v; want 5 admitted", r, err)
		}
	})
}

// redis_rate's TestRetryAfter, on the server's real clock: a refused call's
// RetryAfter is never more than the interval.
func TestGCRARetryAfterWithinTheInterval(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		l := newTestLimiter(t, b.Client, 1, time.Millisecond, gcraOpts)
		refused := 0
		for range 1000 {
			r, err := l.Allow(ctx, "retry")
			if err != nil {
				t.Fatal(err)
			}
			if r.Allowed {
				continue
			}
			refused++
			if r.RetryAfter <= 0 || r.RetryAfter > time.Millisecond {
				t.Fatalf("RetryAfter %v, want within (0, 1ms]", r.RetryAfter)
			}
		}
		if refused == 0 && b.Real {
			t.Log("no call refused: the calls were slower than the rate")
		}
	})
}

// Concurrent callers never over-admit: on a server and on the cluster, 20
// goroutines make 400 calls against 50 a minute with a burst of 50: 50 are
// admitted, and one more per interval (1.2 s) that passed meanwhile.
func TestGCRAConcurrentCallersNeverOverAdmit(t *testing.T) {
	for name, c := range testbackend.ServerAndCluster(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			l := newTestLimiter(t, c, 50, time.Minute, gcraOpts)
			key := testKey(t, "concurrent") // the cluster outlives the test
			start := time.Now()
			var admitted atomic.Int64
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					for range 20 {
						r, err := l.Allow(ctx, key)
						if err != nil {
							t.Error(err)
							return
						}
						admitted.Add(int64(r.Admitted))
					}
				})
			}
			wg.Wait()
			most := 50 + int64(time.Since(start)/(1200*time.Millisecond)) // one per interval elapsed
			if n := admitted.Load(); n < 50 || n > most {
				t.Fatalf("%d admitted, want 50 (at most %d)", n, most)
			}
		})
	}
}

// Under a controlled clock and random arrivals, GCRA never admits more than
// burst + rate * d / period calls in any interval of length d (checked
// over every pair of admitted calls), and no admitted call is ever refused
// by the log's exact bound where the log itself holds.
func TestGCRABoundUnderRandomArrivals(t *testing.T) {
	k := newClock(t)
	ctx := context.Background()
	const rate, burst = 7, 3
	period := time.Second
	l := newTestLimiter(t, k.c, rate, period, &Options{Algorithm: GCRA, Burst: burst})
	rng := rand.New(rand.NewPCG(1, 2))
	var at time.Duration
	var times []time.Duration
	for range 3000 {
		at += time.Duration(rng.ExpFloat64() * float64(period) / (2 * rate)) // twice the rate
		at = at.Truncate(time.Microsecond)
		k.at(at)
		r, err := l.AllowN(ctx, "random", 1+rng.IntN(2))
		if err != nil {
			t.Fatal(err)
		}
		for range r.Admitted {
			times = append(times, at)
		}
	}
	if len(times) < 1000 {
		t.Fatalf("only %d calls admitted", len(times))
	}
	for i := range times {
		for j := i; j < len(times); j++ {
			d := times[j] - times[i]
			// Calls i..j fall within d: at most burst + rate * d / period.
			if limit := float64(burst) + float64(rate)*float64(d)/float64(period); float64(j-i+1) > limit {
				t.Fatalf("%d calls within %v: over burst + rate * d / period = %.3f", j-i+1, d, limit)
			}
			if d > 2*period {
				break
			}
		}
	}
}

// A GCRA key that holds something else (a list) is an error, never an
// admission.
func TestGCRAWrongTypeKey(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	l := newTestLimiter(t, b.Client, 10, time.Second, gcraOpts)
	if err := b.Client.RPush(ctx, mustKey(t, "typed", keyspace.KindRateGCRA), "x").Err(); err != nil {
		t.Fatal(err)
	}
	if r, err := l.Allow(ctx, "typed"); !errors.Is(err, redislua.ErrWrongType) || r.Allowed {
		t.Fatalf("Allow on a list = %+v, %v; want redislua.ErrWrongType", r, err)
	}
}
