package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/eventrec"
	"github.com/redislua/redislua/internal/testbackend"
)

func TestLimiterReportsEachDecision(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		obs := &eventrec.Recorder{}
		if err := redislua.Observe(b.Client, obs); err != nil {
			t.Fatal(err)
		}
		for _, algo := range []Algorithm{SlidingLog, SlidingCounter, GCRA} {
			obs.Take()
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
			evs := obs.Take()
			if len(evs) != 3 {
				t.Fatalf("%v: %d events, want 3: %+v", algo, len(evs), evs)
			}
			for i, ev := range evs {
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
