package ratelimit

import (
	"context"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redislua/redislua/internal/keyspace"
)

// gcraModel is GCRA in exact rationals: the arrival time (TAT) of a key,
// in microseconds, and the results a request must get.
type gcraModel struct {
	tat *big.Rat // nil: no call recorded
}

// ceilMicros is x (microseconds) rounded up, as a Duration.
func ceilMicros(x *big.Rat) time.Duration {
	q := new(big.Int).Quo(x.Num(), x.Denom()) // truncated
	if x.Sign() > 0 && !x.IsInt() {
		q.Add(q, big.NewInt(1))
	}
	return time.Duration(q.Int64()) * time.Microsecond
}

// request answers n calls (0: a peek) under lim at now (µs), all or
// none, or with atMost as many as fit, and records what it admits.
func (m *gcraModel) request(lim Limit, now int64, n int, atMost bool) Result {
	interval := big.NewRat(lim.Period.Microseconds(), int64(lim.Rate))
	burst := new(big.Rat).Mul(interval, big.NewRat(int64(lim.burst()), 1))
	tat := new(big.Rat).SetInt64(now)
	if m.tat != nil && m.tat.Cmp(tat) > 0 {
		tat.Set(m.tat)
	}
	// fit: the calls that fit now, floor((now + burst - tat) / interval).
	room := new(big.Rat).Sub(new(big.Rat).Add(new(big.Rat).SetInt64(now), burst), tat)
	room.Quo(room, interval)
	fit := new(big.Int).Quo(room.Num(), room.Denom()).Int64()
	if room.Sign() < 0 {
		fit = 0 // (truncation is not floor below 0, but then nothing fits)
	}
	ahead := new(big.Rat).Sub(tat, new(big.Rat).SetInt64(now))
	if n == 0 {
		return Result{Remaining: int(fit), ResetAfter: ceilMicros(ahead)}
	}
	take := n
	if atMost {
		take = int(min(int64(n), fit))
	}
	if take < 1 || int64(take) > fit {
		need := n
		if atMost {
			need = 1
		}
		// Waits until tat + need * interval - burst <= now.
		wait := new(big.Rat).Add(ahead, new(big.Rat).Mul(interval, big.NewRat(int64(need), 1)))
		wait.Sub(wait, burst)
		return Result{Remaining: int(fit), RetryAfter: ceilMicros(wait), ResetAfter: ceilMicros(ahead)}
	}
	tat.Add(tat, new(big.Rat).Mul(interval, big.NewRat(int64(take), 1)))
	m.tat = tat
	return Result{Allowed: true, Admitted: take, Remaining: int(fit) - take, ResetAfter: ceilMicros(new(big.Rat).Sub(tat, new(big.Rat).SetInt64(now)))}
}

// GCRA's results are exact: for random requests under limits of one rate
// with different bursts and periods on one key, on a clock that steps
// forwards and back, every result is the exact one, Remaining, RetryAfter
// (the time until the request fits) and ResetAfter (until the TAT)
// included.
func TestGCRAMatchesExactModel(t *testing.T) {
	forEachClock(t, func(t *testing.T, k *clock) {
		ctx := context.Background()
		const rate = 7
		l := k.limiter(t, rate, time.Second, gcraOpts)
		limits := []Limit{
			{Rate: rate, Period: time.Second, Burst: 3},
			{Rate: rate, Period: time.Second, Burst: 12},
			{Rate: rate, Period: 1500 * time.Millisecond, Burst: 2},
			{Rate: rate, Period: 100 * time.Millisecond, Burst: 20},
		}
		rng := rand.New(rand.NewPCG(3, 4))
		var m gcraModel
		base := k.base.UnixMicro()
		at := 10 * time.Second
		for i := range 600 {
			switch rng.IntN(20) {
			case 0: // the clock steps back
				at -= time.Duration(rng.Int64N(int64(5 * time.Second))).Truncate(time.Microsecond)
			case 1: // or forward
				at += time.Duration(rng.Int64N(int64(5 * time.Second))).Truncate(time.Microsecond)
			default:
				at += time.Duration(rng.Int64N(int64(200 * time.Millisecond))).Truncate(time.Microsecond)
			}
			k.at(at)
			lim := limits[rng.IntN(len(limits))]
			n := rng.IntN(lim.burst() + 1)
			atMost := rng.IntN(3) == 0
			if atMost {
				n = rng.IntN(2 * lim.burst())
			}
			want := m.request(lim, base+at.Microseconds(), n, atMost)
			call := l.AllowWith
			if atMost {
				call = l.AllowAtMostWith
			}
			got, err := call(ctx, "model", lim, n)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("request %d at %v, %v, n %d, atMost %v: %+v, want %+v", i, at, lim, n, atMost, got, want)
			}
		}
	})
}

// A TAT more than a burst ahead of the clock (a larger burst sharing the
// key, a clock stepped back) refuses until it is within a burst again,
// and RetryAfter and ResetAfter say when: after waiting RetryAfter the
// request is admitted, not a microsecond sooner.
func TestGCRAWaitsRunToATATBeyondTheBurst(t *testing.T) {
	forEachClock(t, func(t *testing.T, k *clock) {
		ctx := context.Background()
		l := k.limiter(t, 10, time.Second, &Options{Algorithm: GCRA, Burst: 10})
		small := Limit{Rate: 10, Period: time.Second, Burst: 2}
		allowN(t, l, "beyond", 10) // TAT 1 s ahead; the small burst's reach is 200 ms
		want := Result{Remaining: 0, RetryAfter: 900 * time.Millisecond, ResetAfter: time.Second}
		if r := take(t, func() (Result, error) { return l.AllowWith(ctx, "beyond", small, 1) }); r != want {
			t.Fatalf("under %v: %+v, want %+v", small, r, want)
		}
		k.at(900*time.Millisecond - time.Microsecond)
		if r := take(t, func() (Result, error) { return l.AllowWith(ctx, "beyond", small, 1) }); r.Allowed || r.RetryAfter != time.Microsecond {
			t.Fatalf("a microsecond before RetryAfter: %+v, want refused, RetryAfter 1µs", r)
		}
		k.at(900 * time.Millisecond)
		if r := take(t, func() (Result, error) { return l.AllowWith(ctx, "beyond", small, 1) }); !r.Allowed {
			t.Fatalf("after RetryAfter: %+v, want allowed", r)
		}
		// The clock steps back 10 s: nothing fits until it is back within a
		// burst (1 s) of the TAT at 1.1 s, and ResetAfter runs to the TAT.
		k.at(-10 * time.Second)
		want = Result{Remaining: 0, RetryAfter: 10*time.Second + 200*time.Millisecond, ResetAfter: 11*time.Second + 100*time.Millisecond}
		if r := take(t, func() (Result, error) { return l.Allow(ctx, "beyond") }); r != want {
			t.Fatalf("after the step back: %+v, want %+v", r, want)
		}
	})
}

// A GCRA state holding a time the script cannot have written (past 2^53
// µs, infinite, not a number) counts as none, as any unreadable state: the
// key is not refused for ever, nor are its results garbage.
func TestGCRAUnreadableTime(t *testing.T) {
	forEachClock(t, func(t *testing.T, k *clock) {
		ctx := context.Background()
		l := k.limiter(t, 10, time.Second, gcraOpts)
		for _, state := range []string{"inf", "nan", "1e300", "1e17", "99999999999999999999 3"} {
			if err := k.c.Set(ctx, mustKey(t, "unreadable", keyspace.KindRateGCRA), state, 0).Err(); err != nil {
				t.Fatal(err)
			}
			if r := take(t, func() (Result, error) { return l.Allow(ctx, "unreadable") }); r != (Result{Allowed: true, Admitted: 1, Remaining: 9, ResetAfter: 100 * time.Millisecond}) {
				t.Errorf("state %q: %+v, want a first call's result", state, r)
			}
		}
	})
}
