package main

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redislua/redislua/cas"
)

// numCASKeys counters are shared by all workers, so swaps race.
const numCASKeys = 4

// casState is one counter advanced by compare-and-swap.
type casState struct {
	key     string
	swapped atomic.Int64 // swaps acknowledged with true
	unknown atomic.Int64 // swaps whose outcome is unknown
}

// compareAndSwap reads a random counter and swaps it for the next
// number, which fails when another worker swapped it in between.
func (w *worker) compareAndSwap() {
	s := w.s
	cs := s.cas[w.rng.IntN(numCASKeys)]
	n, err := s.getInt(cs.key, time.Now().Add(opTimeout))
	if err != nil {
		return
	}
	var ok bool
	err = s.timed(opCAS, func(ctx context.Context) error {
		var err error
		ok, err = cas.Swap(ctx, s.t.client, cs.key,
			strconv.FormatInt(n, 10), strconv.FormatInt(n+1, 10), nil)
		return err
	})
	switch {
	case err == nil && ok:
		cs.swapped.Add(1)
	case err == nil:
		s.outcomes.add("cas: lost the race", 1)
	case retryable(err):
		cs.unknown.Add(1)
	}
}

// checkCAS checks that each counter moved once per acknowledged swap,
// and at most once per swap of unknown outcome besides.
func (s *soak) checkCAS(deadline time.Time) {
	var swaps, unknown int64
	for _, cs := range s.cas {
		got, err := s.getIntRetrying(cs.key, deadline)
		if err != nil {
			s.v.fail(checkCASCounter, "reading %s: %v", cs.key, err)
			continue
		}
		ok, unk := cs.swapped.Load(), cs.unknown.Load()
		swaps += ok
		unknown += unk
		if got < ok || got > ok+unk {
			s.v.fail(checkCASCounter, "%s = %d, want %d to %d", cs.key, got, ok, ok+unk)
		}
	}
	s.v.note(checkCASCounter, "%d swaps, %d unknown", swaps, unknown)
}
