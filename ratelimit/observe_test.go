package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/testbackend"
)

// decisions is an Observer that keeps the events it hears.
type decisions struct {
	mu   sync.Mutex
	list []redislua.Event
}

func (d *decisions) StartCall(ctx context.Context, _ *redislua.Call) context.Context { return ctx }
func (d *decisions) EndCall(context.Context, *redislua.Call, error)                  {}
func (d *decisions) Notify(_ context.Context, ev redislua.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.list = append(d.list, ev)
}

func TestLimiterReportsEachDecision(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		obs := &decisions{}
		if err := redislua.Observe(b.Client, obs); err != nil {
			t.Fatal(err)
		}
		for _, algo := range []Algorithm{SlidingLog, SlidingCounter, GCRA} {
			obs.list = nil
			l, err := New(b.Client, 2, time.Minute, &Options{Algorithm: algo})
			if err != nil {
				t.Fatal(err)
			}
			key := "obs:" + algo.String()
			var want []string
			for range 3 {
				r, err := l.Allow(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				if r.Allowed {
					want = append(want, EventAllowed)
				} else {
					want = append(want, EventRefused)
				}
			}
			if _, err := l.Peek(ctx, key); err != nil { // admits nothing: no event
				t.Fatal(err)
			}
			if len(obs.list) != 3 {
				t.Fatalf("%v: %d events, want 3: %+v", algo, len(obs.list), obs.list)
			}
			for i, ev := range obs.list {
				if ev.Name != want[i] || ev.Detail != algo.eventDetail() {
					t.Fatalf("%v: event %d = %+v, want %s with detail %q", algo, i, ev, want[i], algo.eventDetail())
				}
			}
			if want[2] != EventRefused {
				t.Fatalf("%v: third call of a limit of 2 was %s", algo, want[2])
			}
		}
	})
}
