package main

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redislua/redislua/cas"
	"github.com/redislua/redislua/lock"
)

const (
	// numLocks lock keys are shared by all workers, so they contend.
	numLocks = 4
	// lockTTL is the locks' TTL. Every call of a critical section ends
	// by half of it (its context's deadline), so a holder never outlives
	// its lock while it works, and the checks below are sound.
	lockTTL = 5 * time.Second
	// acquireWait bounds an Acquire under contention.
	acquireWait = 2 * time.Second
)

// lockRetry polls briefly: a release wakes waiters through pub/sub anyway.
var lockRetry = lock.ExponentialRetry(2*time.Millisecond, 50*time.Millisecond)

// lockState is one lock key and what its holders did. The counter is
// read with GET and written with FencedSet under the lock, two steps that
// are only correct if nobody else runs them at the same time.
type lockState struct {
	key     string
	counter string

	inside     atomic.Int32 // holders between Acquire and Release, in this process
	lastFence  atomic.Int64
	successes  atomic.Int64 // sections whose write is known to have landed
	unresolved atomic.Int64 // sections whose write may or may not have landed
}

func newLockState(i int) *lockState {
	tag := "soak:{lock" + strconv.Itoa(i) + "}"
	return &lockState{key: tag, counter: tag + ":counter"}
}

// lockSection acquires a random lock, adds one to its counter with a GET
// and a FencedSet, and releases it.
func (w *worker) lockSection() {
	s := w.s
	ls := s.locks[w.rng.IntN(numLocks)]
	l, err := lock.New(s.t.client, ls.key, &lock.Options{TTL: lockTTL, Retry: lockRetry})
	if err != nil {
		s.record(opAcquire, 0, err) // cannot happen: the arguments are fixed
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), acquireWait)
	start := time.Now()
	err = l.Acquire(ctx)
	cancel()
	if errors.Is(err, lock.ErrNotAcquired) {
		// Contention (or a server down until the wait ended): the lock
		// was not taken, which is what Acquire is for.
		s.record(opAcquire, time.Since(start), nil)
		s.outcomes.add("lock: not acquired within 2s", 1)
		return
	}
	s.record(opAcquire, time.Since(start), err)
	if err != nil {
		return
	}
	acquired := time.Now()
	fence := l.Fence()

	if n := ls.inside.Add(1); n != 1 {
		s.v.fail(checkOneHolder, "%s: %d holders at once (fence %d)", ls.key, n, fence)
	}
	if prev := ls.lastFence.Swap(fence); fence <= prev {
		s.v.fail(checkFences, "%s: fence %d after %d", ls.key, fence, prev)
	}
	w.increment(ls, l, fence, acquired.Add(lockTTL/2))
	ls.inside.Add(-1)

	w.release(ls, l, acquired)
}

// increment adds one to the lock's counter: GET, then FencedSet with the
// holder's fence. After a FencedSet whose outcome is unknown, it reads the
// counter again, and checks that the lock is still held, to tell whether
// the write landed. Every call ends by deadline; the section's outcome is
// unknown if it is still unknown then.
func (w *worker) increment(ls *lockState, l *lock.Lock, fence int64, deadline time.Time) {
	s := w.s
	v, err := s.getIntRetrying(ls.counter, deadline)
	if err != nil {
		return // nothing written
	}
	want := strconv.FormatInt(v+1, 10)
	for {
		var ok bool
		err := s.timedBy(opFencedSet, deadline, func(ctx context.Context) error {
			var err error
			ok, err = cas.FencedSet(ctx, s.t.client, ls.counter, want, fence)
			return err
		})
		switch {
		case err == nil && ok:
			ls.successes.Add(1)
			s.outcomes.add("lock: critical section done", 1)
			return
		case err == nil:
			s.v.fail(checkFencedSet, "%s: FencedSet refused fence %d", ls.key, fence)
			return
		case !retryable(err):
			return // refused by the server: nothing written
		}
		// Unknown: find out whether the write landed.
		for {
			if time.Now().After(deadline) {
				ls.unresolved.Add(1)
				s.outcomes.add("lock: section left unknown", 1)
				return
			}
			cur, err := s.getInt(ls.counter, deadline)
			if err != nil {
				time.Sleep(retryPause)
				continue
			}
			held, err := w.stillHeld(l, deadline)
			if err != nil {
				time.Sleep(retryPause)
				continue
			}
			if !held {
				ls.unresolved.Add(1)
				s.outcomes.add("lock: section left unknown (lock lost)", 1)
				return
			}
			// The lock was held from the acquisition to now, so cur is
			// what this holder left.
			switch cur {
			case v + 1:
				ls.successes.Add(1)
				s.outcomes.add("lock: critical section done (after an unknown write)", 1)
				return
			case v:
				s.outcomes.add("lock: write lost with its connection, sent again", 1)
			default:
				s.v.fail(checkUnderLock, "%s: counter went from %d to %d under the lock", ls.key, v, cur)
				ls.unresolved.Add(1)
				return
			}
			break // send the FencedSet again
		}
	}
}

// stillHeld reports whether l still holds its key, with Lock.TTL.
func (w *worker) stillHeld(l *lock.Lock, deadline time.Time) (bool, error) {
	err := w.s.timedBy(opLockTTL, deadline, func(ctx context.Context) error {
		_, err := l.TTL(ctx)
		return err
	})
	if errors.Is(err, lock.ErrNotHeld) {
		return false, nil
	}
	return err == nil, err
}

// release gives the lock up. A Release that finds the lock gone within
// its TTL is a violation. After an error (the release may not have
// reached Redis) the Lock keeps the token and a second Release sends it
// again; if that fails too, the lock is left to its TTL (or to this
// worker's next Acquire, which sends it once more), and other workers
// wait for it (see the report's outcomes).
func (w *worker) release(ls *lockState, l *lock.Lock, acquired time.Time) {
	s := w.s
	err := s.timed(opRelease, func(ctx context.Context) error { return l.Release(ctx) })
	switch {
	case err == nil:
		return
	case errors.Is(err, lock.ErrNotHeld):
		// A Lock counts itself lost TTL/100 + 2ms before its TTL runs
		// out (see lock.Options.AutoRefresh), by design.
		if age := time.Since(acquired); age < lockTTL-lockTTL/100-2*time.Millisecond {
			s.v.fail(checkNotLostEarly, "%s: not held %v after acquisition (TTL %v)", ls.key, age.Round(time.Millisecond), lockTTL)
		}
		return
	}
	err = s.timed(opRelease, func(ctx context.Context) error { return l.Release(ctx) })
	switch {
	case err == nil:
		s.outcomes.add("lock: release failed, released by a second Release", 1)
	case errors.Is(err, lock.ErrNotHeld):
		// The first release reached Redis, or the lock expired.
		s.outcomes.add("lock: release failed, a second Release found it gone", 1)
	default:
		s.outcomes.add("lock: release failed twice, left to expire", 1)
	}
}

// checkLocks compares each counter with the sections known to have
// written it.
func (s *soak) checkLocks(deadline time.Time) {
	var sections, unknown int64
	for _, ls := range s.locks {
		got, err := s.getIntRetrying(ls.counter, deadline)
		if err != nil {
			s.v.fail(checkLockCounter, "reading %s: %v", ls.counter, err)
			continue
		}
		ok, unres := ls.successes.Load(), ls.unresolved.Load()
		sections += ok
		unknown += unres
		if got < ok || got > ok+unres {
			s.v.fail(checkLockCounter, "%s = %d, want %d (plus up to %d unknown)", ls.counter, got, ok, unres)
		}
	}
	s.v.note(checkLockCounter, "%d sections, %d unknown", sections, unknown)
}
