package ratelimit

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/testbackend"
)

// The expiries the scripts set: each key lives as long as its state
// matters, and a call sets an expiry only when the one set is not enough
// (setting one costs the server more than the rest of the write). These
// run on a redis-server, whose TTLs are the ones that count; the steps
// use the scripts' fake time (see fakeTimeScript), so the expiries are
// exact, while the TTLs run on the real clock, which the tests leave
// alone.

// pttl returns key's TTL, failing the test on error.
func pttl(t *testing.T, k *clock, key string) time.Duration {
	t.Helper()
	d, err := k.c.PTTL(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("PTTL %q: %v", key, err)
	}
	return d
}

// setTTL sets key's TTL, failing the test on error.
func setTTL(t *testing.T, k *clock, key string, d time.Duration) {
	t.Helper()
	if err := k.c.PExpire(context.Background(), key, d).Err(); err != nil {
		t.Fatalf("PEXPIRE %q: %v", key, err)
	}
}

// near reports whether a TTL read back is d, less the test's own time (at
// most slack) and the millisecond PTTL floors.
func near(ttl, d time.Duration) bool {
	const slack = 2 * time.Second
	return ttl <= d && ttl > d-slack
}

// GCRA's key expires 0.1 s to 0.2 s after its TAT, on a grid of 0.1 s: a
// call whose TAT stays in the stored TAT's cell keeps the TTL, one that
// moves it to another cell sets it for the new one.
func TestGCRAExpiryGrid(t *testing.T) {
	const ms = time.Millisecond
	k := newRedisClock(t)
	// 100 per second: 10 ms a call.
	l := k.limiter(t, 100, time.Second, gcraOpts)
	key := mustKey(t, "grid", keyspace.KindRateGCRA)

	k.at(0)
	if r := allowN(t, l, "grid", 1); !r.Allowed || r.ResetAfter != 10*ms {
		t.Fatalf("first call: %+v, want allowed, ResetAfter 10ms", r)
	}
	// TAT 10 ms, in cell 0: the key expires at the start of cell 2.
	if d := pttl(t, k, key); !near(d, 200*ms) {
		t.Errorf("PTTL after the first call = %v, want 200ms", d)
	}
	// A TTL the next call would set otherwise: kept while the TAT (20 ms)
	// is in cell 0.
	setTTL(t, k, key, time.Hour)
	allowN(t, l, "grid", 1)
	if d := pttl(t, k, key); !near(d, time.Hour) {
		t.Errorf("PTTL after a call in the same cell = %v, want the hour kept", d)
	}
	// 9 calls more: TAT 110 ms, cell 1, expiring at 300 ms.
	allowN(t, l, "grid", 9)
	if d := pttl(t, k, key); !near(d, 300*ms) {
		t.Errorf("PTTL after a call into the next cell = %v, want 300ms", d)
	}
	// Later, past the TAT: a new TAT (250 ms + 10 ms) in cell 2, from a
	// stored one in cell 1.
	k.at(250 * ms)
	setTTL(t, k, key, time.Hour)
	if r := allowN(t, l, "grid", 1); !r.Allowed || r.ResetAfter != 10*ms {
		t.Fatalf("call after the TAT: %+v, want allowed, ResetAfter 10ms", r)
	}
	if d := pttl(t, k, key); !near(d, 150*ms) { // 400 ms - 250 ms
		t.Errorf("PTTL after a call past the TAT = %v, want 150ms", d)
	}
	// Refused calls and peeks write nothing, TTL included.
	setTTL(t, k, key, time.Hour)
	allowN(t, l, "grid", 100)
	if _, err := l.Peek(context.Background(), "grid"); err != nil {
		t.Fatal(err)
	}
	if d := pttl(t, k, key); !near(d, time.Hour) {
		t.Errorf("PTTL after a refused call and a peek = %v, want the hour kept", d)
	}
}

// On the real clock, with two rates sharing a key and requests of random
// sizes, the key always outlives its TAT: PTTL >= ResetAfter after every
// admitted call, and at most 0.2 s more.
func TestGCRAExpiryCoversTheTAT(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	l := newTestLimiter(t, b.Client, 1000, time.Second, gcraOpts)
	slow := Limit{Rate: 300, Period: time.Second, Burst: 300}
	key := testKey(t, "cover")
	gcraKey := mustKey(t, key, keyspace.KindRateGCRA)
	r := rand.New(rand.NewPCG(3, 17))
	admitted := 0
	for i := range 400 {
		n := 1 + r.IntN(20)
		var res Result
		var err error
		if i%2 == 0 {
			res, err = l.AllowN(ctx, key, n)
		} else {
			res, err = l.AllowWith(ctx, key, slow, n)
		}
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if !res.Allowed {
			continue
		}
		admitted++
		d, err := b.Client.PTTL(ctx, gcraKey).Result()
		if err != nil {
			t.Fatal(err)
		}
		// PTTL floors to the millisecond; the time since the call only
		// lowers it, which can only make the first check fail. The script
		// rounds PX up to a whole millisecond, past the 0.2 s at most.
		if d < res.ResetAfter.Truncate(time.Millisecond) || d > res.ResetAfter+201*time.Millisecond {
			t.Fatalf("call %d (AllowN %d): PTTL %v, ResetAfter %v; want PTTL in [ResetAfter, ResetAfter + 201ms]", i, n, d, res.ResetAfter)
		}
	}
	if admitted < 50 {
		t.Fatalf("%d calls admitted, too few to check anything", admitted)
	}
}

// The counter's key expires when window w + 1 ends: set by the first call
// of window w, which the other calls of w leave alone.
func TestCounterExpiryOncePerWindow(t *testing.T) {
	const s = time.Second
	k := newRedisClock(t)
	l := k.limiter(t, 10, 10*s, counterOpts)
	key := mustKey(t, "once", keyspace.KindRateCount)

	k.at(2 * s)
	allowN(t, l, "once", 1)
	if d := pttl(t, k, key); !near(d, 18*s) {
		t.Errorf("PTTL after the window's first call = %v, want 18s", d)
	}
	setTTL(t, k, key, time.Hour)
	k.at(5 * s)
	allowN(t, l, "once", 1)
	if d := pttl(t, k, key); !near(d, time.Hour) {
		t.Errorf("PTTL after a later call in the window = %v, want the hour kept", d)
	}
	k.at(13 * s)
	allowN(t, l, "once", 1)
	if d := pttl(t, k, key); !near(d, 17*s) {
		t.Errorf("PTTL after the next window's first call = %v, want 17s", d)
	}
	// Refused calls write nothing.
	setTTL(t, k, key, time.Hour)
	allowN(t, l, "once", 10)
	if d := pttl(t, k, key); !near(d, time.Hour) {
		t.Errorf("PTTL after a refused call = %v, want the hour kept", d)
	}
}
