package lock

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/eventrec"
	"github.com/redislua/redislua/internal/testbackend"
)

func TestLockReportsAcquisitionsHandOffsAndLosses(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		obs := &eventrec.Recorder{}
		if err := redislua.Observe(b.Client, obs); err != nil {
			t.Fatal(err)
		}
		first, err := New(b.Client, "obs:lock", &Options{TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		// The waiter's first attempt fails once it asks for a backoff.
		failedOnce := make(chan struct{})
		second, err := New(b.Client, "obs:lock", &Options{TTL: time.Minute, Retry: notifyRetry{LinearRetry(5 * time.Millisecond), 1, failedOnce}})
		if err != nil {
			t.Fatal(err)
		}
		if err := first.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, err := second.TryAcquire(ctx); ok || err != nil {
			t.Fatalf("TryAcquire = %v, %v; want false, nil", ok, err)
		}
		evs := obs.Take()
		if len(evs) != 2 || evs[0].Name != EventAcquired || evs[0].Detail != "immediate" || evs[1].Name != EventNotAcquired {
			t.Fatalf("events %+v, want an immediate acquisition and a miss", evs)
		}

		// A waiter that gets the lock on its release is a hand-off.
		got := make(chan error, 1)
		go func() { got <- second.Acquire(ctx) }()
		<-failedOnce
		if err := first.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-got; err != nil {
			t.Fatal(err)
		}
		evs = obs.Take()
		if len(evs) != 1 || evs[0].Name != EventAcquired || evs[0].Detail != "waited" || evs[0].Duration <= 0 {
			t.Fatalf("events %+v, want one waited acquisition with its wait", evs)
		}

		// A lock whose TTL ends before a refresh is lost: the event comes
		// before Lost closes.
		if err := second.Release(ctx); err != nil {
			t.Fatal(err)
		}
		short, err := New(b.Client, "obs:short", &Options{TTL: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := short.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		<-short.Lost()
		evs = obs.Take()
		if len(evs) != 2 || evs[1].Name != EventLost {
			t.Fatalf("events %+v, want an acquisition then a loss", evs)
		}
	})
}

// An Acquire whose context has ended already ends without the lock: it is
// reported as any other miss.
func TestLockReportsAnAcquireWithAnEndedContext(t *testing.T) {
	b := testbackend.Miniredis(t)
	obs := &eventrec.Recorder{}
	if err := redislua.Observe(b.Client, obs); err != nil {
		t.Fatal(err)
	}
	l, err := New(b.Client, "obs:ended", &Options{TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Acquire(ctx); !errors.Is(err, ErrNotAcquired) {
		t.Fatalf("Acquire = %v, want ErrNotAcquired", err)
	}
	if evs := obs.Take(); len(evs) != 1 || evs[0].Name != EventNotAcquired {
		t.Fatalf("events %+v, want one %s", evs, EventNotAcquired)
	}
}
