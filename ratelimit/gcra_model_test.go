package ratelimit

import (
	"context"
	"fmt"
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
	r := m.answer(lim, now, n, atMost)
	if r.Admitted > 0 {
		m.record(lim, now, r.Admitted)
	}
	return r
}

// answer is request's result, recording nothing.
func (m *gcraModel) answer(lim Limit, now int64, n int, atMost bool) Result {
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
	return Result{Allowed: true, Admitted: take, Remaining: int(fit) - take, ResetAfter: ceilMicros(new(big.Rat).Sub(tat, new(big.Rat).SetInt64(now)))}
}

// record moves the TAT on by take calls under lim at now.
func (m *gcraModel) record(lim Limit, now int64, take int) {
	tat := new(big.Rat).SetInt64(now)
	if m.tat != nil && m.tat.Cmp(tat) > 0 {
		tat.Set(m.tat)
	}
	m.tat = tat.Add(tat, big.NewRat(lim.Period.Microseconds()*int64(take), int64(lim.Rate)))
}

// keep removes the TTL of key's GCRA state: on a redis-server the TTL runs
// on the real clock, not the one the test sets, and would end the state
// early. These tests check the script's arithmetic; TTLs are checked on
// real time elsewhere.
func keep(t *testing.T, k *clock, key string) {
	t.Helper()
	if err := k.c.Persist(context.Background(), mustKey(t, key, keyspace.KindRateGCRA)).Err(); err != nil {
		t.Fatal(err)
	}
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
			keep(t, k, "model")
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
		keep(t, k, "beyond")
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
		keep(t, k, "beyond")
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

// Limits of different rates may share a key too (redis_rate's per-call
// limits). The arrival time one writes, a fraction of a microsecond in its
// own units, is read by the others rounded up to theirs, so that across
// rates the exact time cannot be kept, but no request is ever admitted
// that exact GCRA would refuse, no call more, and no wait is shorter; the
// rounding stays below a microsecond per request. Random requests under
// rates whose intervals are a third of a second or a fraction of a
// microsecond, and one too fast for the remainders to convert exactly.
func TestGCRAAcrossRatesNeverAdmitsMore(t *testing.T) {
	forEachClock(t, func(t *testing.T, k *clock) {
		ctx := context.Background()
		l := k.limiter(t, 3, time.Second, gcraOpts)
		limits := []Limit{
			{Rate: 3, Period: time.Second, Burst: 3},
			{Rate: 7, Period: 1500 * time.Millisecond, Burst: 5},
			{Rate: 30_000_000, Period: time.Second, Burst: 30_000_000},
			{Rate: 1_000_003, Period: time.Millisecond, Burst: 2_000_000},
			{Rate: 1<<53 - 1, Period: time.Millisecond, Burst: 1 << 40},
		}
		rng := rand.New(rand.NewPCG(5, 6))
		var m gcraModel
		base := k.base.UnixMicro()
		at := 10 * time.Second
		hops, lastRate := 0, 0
		for i := range 600 {
			if rng.IntN(10) == 0 {
				at -= time.Duration(rng.Int64N(int64(time.Second))).Truncate(time.Microsecond)
			} else {
				at += time.Duration(rng.Int64N(int64(300 * time.Millisecond))).Truncate(time.Microsecond)
			}
			k.at(at)
			now := base + at.Microseconds()
			lim := limits[rng.IntN(len(limits))]
			n := 1 + rng.IntN(lim.burst())
			atMost := rng.IntN(3) == 0
			exact := m.answer(lim, now, n, atMost)
			call := l.AllowWith
			if atMost {
				call = l.AllowAtMostWith
			}
			got, err := call(ctx, "rates", lim, n)
			if err != nil {
				t.Fatal(err)
			}
			keep(t, k, "rates")
			// Each read under another rate than the last write's may round
			// the TAT up by under a microsecond; the roundings add up while
			// the TAT stays ahead of the clock.
			if m.tat == nil || m.tat.Cmp(new(big.Rat).SetInt64(now)) <= 0 {
				hops = 0
			}
			if lim.Rate != lastRate {
				hops++
			}
			if got.Admitted > 0 {
				lastRate = lim.Rate
			}
			m.record(lim, now, got.Admitted)
			late := time.Duration(hops) * time.Microsecond
			slack := hops * int((int64(lim.Rate)+lim.Period.Microseconds()-1)/lim.Period.Microseconds()+1)
			if got.Admitted > exact.Admitted || got.Remaining > exact.Remaining ||
				got.Admitted+got.Remaining+slack < exact.Admitted+exact.Remaining ||
				got.RetryAfter < exact.RetryAfter || got.RetryAfter > exact.RetryAfter+late ||
				got.ResetAfter < exact.ResetAfter || got.ResetAfter > exact.ResetAfter+late {
				t.Fatalf("request %d at %v, %v, n %d, atMost %v: %+v, exact GCRA gives %+v", i, at, lim, n, atMost, got, exact)
			}
		}
	})
}

// Two calls at 3 a second leave the TAT at 666,666⅔ µs. Read under 30
// million a second (an interval of 1/30 µs), that is 20 million calls of
// its burst of 30 million used: 10 million fit, not one more.
func TestGCRAOtherRatesRemainder(t *testing.T) {
	forEachClock(t, func(t *testing.T, k *clock) {
		ctx := context.Background()
		l := k.limiter(t, 3, time.Second, gcraOpts)
		allowN(t, l, "thirds", 2)
		keep(t, k, "thirds")
		fast := Limit{Rate: 30_000_000, Period: time.Second, Burst: 30_000_000}
		if r := take(t, func() (Result, error) { return l.AllowAtMostWith(ctx, "thirds", fast, fast.Burst) }); r.Admitted != 10_000_000 || r.ResetAfter != time.Second {
			t.Fatalf("AllowAtMostWith(%v): %+v, want 10,000,000 admitted, ResetAfter 1s", fast, r)
		}
		keep(t, k, "thirds")
		// And back: the TAT is at 1 s exactly; at 3 a second nothing fits
		// for another third of a second.
		if r := take(t, func() (Result, error) { return l.Allow(ctx, "thirds") }); r.Allowed || r.RetryAfter != 333334*time.Microsecond {
			t.Fatalf("Allow at 3 a second: %+v, want refused, RetryAfter 333334µs", r)
		}
		// A remainder without its rate (the form of an earlier version) is
		// read as the next microsecond, never as no state.
		state := fmt.Sprintf("%d 1", k.base.UnixMicro()+333333)
		if err := k.c.Set(ctx, mustKey(t, "thirds", keyspace.KindRateGCRA), state, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if r := take(t, func() (Result, error) { return l.Peek(ctx, "thirds") }); r != (Result{Remaining: 1, ResetAfter: 333334 * time.Microsecond}) {
			t.Fatalf("Peek of %q: %+v, want Remaining 1, ResetAfter 333334µs", state, r)
		}
	})
}
