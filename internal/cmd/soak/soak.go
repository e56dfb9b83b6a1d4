package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// opTimeout bounds each call the workers make.
const opTimeout = 2 * time.Second

// soak is the run against one target: its workers, its fault injector,
// what they counted and what the checks found.
type soak struct {
	cfg   config
	t     *target
	index int
	incr  *redislua.Script

	// ops counts the calls of the run; verifyOps those of the final
	// checks. stats points at one of them: it moves to verifyOps once
	// the workers and the injector have stopped.
	ops, verifyOps [numOps]opStats
	stats          *[numOps]opStats
	samples        errorSamples
	outcomes       counters
	v              violations
	faults         faultLog
	server         serverCounts

	bank  *bank
	locks []*lockState
	cas   []*casState
	rate  *rateState
	pipes []*pipeState // one per worker

	started, stopped time.Time
}

// newSoak returns the soak of target t, the index-th of the run (which
// varies the workers' random choices between targets).
func newSoak(cfg config, t *target, index int, incr *redislua.Script) *soak {
	s := &soak{cfg: cfg, t: t, index: index, incr: incr}
	s.stats = &s.ops
	return s
}

// record counts one call of o that took d and ended with err.
func (s *soak) record(o op, d time.Duration, err error) {
	s.stats[o].done(d, err, &s.samples)
}

// timed runs f with a fresh context bounded by opTimeout, and records it
// as a call of o. The context does not derive from the run's, so that
// stopping the run does not cut calls short and leave outcomes unknown.
func (s *soak) timed(o op, f func(ctx context.Context) error) error {
	return s.timedBy(o, time.Now().Add(opTimeout), f)
}

// timedBy is timed with the context's deadline at most deadline.
func (s *soak) timedBy(o op, deadline time.Time, f func(ctx context.Context) error) error {
	if d := time.Now().Add(opTimeout); d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	s.record(o, time.Since(start), err)
	return err
}

// getInt reads an integer key with a plain GET, by deadline at the
// latest; a missing key is 0.
func (s *soak) getInt(key string, deadline time.Time) (int64, error) {
	var n int64
	err := s.timedBy(opGet, deadline, func(ctx context.Context) error {
		v, err := s.t.client.Get(ctx, key).Int64()
		if errors.Is(err, redis.Nil) {
			v, err = 0, nil
		}
		n = v
		return err
	})
	return n, err
}

// getIntRetrying is getInt, tried again on retryable errors until
// deadline.
func (s *soak) getIntRetrying(key string, deadline time.Time) (int64, error) {
	for {
		n, err := s.getInt(key, deadline)
		if err == nil || !retryable(err) || time.Now().After(deadline) {
			return n, err
		}
		time.Sleep(retryPause)
	}
}

// retryPause is how long a worker waits before it sends a retryable call
// again.
const retryPause = 20 * time.Millisecond

// setup writes the initial data. The servers are fresh, so nothing else
// is there.
func (s *soak) setup(ctx context.Context) error {
	s.bank = newBank()
	for i := range numLocks {
		s.locks = append(s.locks, newLockState(i))
	}
	for i := range numCASKeys {
		s.cas = append(s.cas, &casState{key: "soak:{cas" + strconv.Itoa(i) + "}"})
	}
	var err error
	if s.rate, err = newRateState(s.t.client); err != nil {
		return err
	}
	for i := range s.cfg.workers {
		s.pipes = append(s.pipes, &pipeState{key: "soak:{pipe-w" + strconv.Itoa(i) + "}"})
	}
	if err := s.bank.init(ctx, s.t.client); err != nil {
		return err
	}
	for _, c := range s.cas {
		if err := s.t.client.Set(ctx, c.key, "0", 0).Err(); err != nil {
			return err
		}
	}
	return nil
}

// run drives the workers and the fault injector until ctx ends, and
// waits for them: each worker finishes the operation it is in, which is
// bounded by opTimeout and the retry deadlines.
func (s *soak) run(ctx context.Context, tb *cmdTB) {
	s.started = time.Now()
	var wg sync.WaitGroup
	for i := range s.cfg.workers {
		rng := rand.New(rand.NewPCG(uint64(s.cfg.seed), uint64(s.index)<<32|uint64(i)))
		w := &worker{s: s, id: i, rng: rng, pipe: s.pipes[i], done: ctx.Done()}
		wg.Go(func() { w.loop(ctx) })
	}
	wg.Go(func() { s.injectFaults(ctx, tb) })
	wg.Wait()
	s.stopped = time.Now()
}

// worker runs a random mix of operations, one at a time.
type worker struct {
	s    *soak
	id   int
	rng  *rand.Rand
	seq  int
	pipe *pipeState
	// done is closed when the run ends: retries stop then, and what is
	// still unknown is left to the final checks.
	done <-chan struct{}
	// ledger holds the balance changes of the transfers this worker
	// knows were applied; pending holds those whose outcome is unknown.
	ledger  map[string]int64
	pending []transferCall
}

// mix weighs the operations: out of 100 iterations, about this many of
// each.
var mix = []struct {
	weight int
	run    func(w *worker)
}{
	{35, (*worker).transfer},
	{15, (*worker).lockSection},
	{15, (*worker).allow},
	{15, (*worker).compareAndSwap},
	{20, (*worker).pipeline},
}

// stopping reports whether the run has ended.
func (w *worker) stopping() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func (w *worker) loop(ctx context.Context) {
	w.ledger = make(map[string]int64)
	defer w.s.bank.merge(w)
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	for ctx.Err() == nil {
		n := w.rng.IntN(total)
		for _, m := range mix {
			if n < m.weight {
				m.run(w)
				break
			}
			n -= m.weight
		}
	}
}
