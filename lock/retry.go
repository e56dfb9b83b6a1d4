package lock

import (
	"math/rand/v2"
	"time"
)

// RetryStrategy tells Lock.Acquire how long to wait after a failed attempt
// before the next one. A release wakes waiters at once through pub/sub, so
// the wait is only a fallback, for a release message that was missed and
// for a lock that expired instead of being released; Acquire never waits
// longer than the holder's remaining TTL either. As
// Options.RefreshRetry, it tells Refresh and the watchdog how long to
// wait before sending a refresh again after a transient error.
//
// A strategy holds no state between calls: one value may serve any number
// of Locks and goroutines at once. A wait under 1ms counts as 1ms, so that
// a zero or negative one cannot turn waiting into a loop hammering Redis.
type RetryStrategy interface {
	// Backoff returns how long to wait after the attempt numbered attempt
	// (1 for the first) failed, and false to give up. Acquire calls it
	// after each failed attempt, including those made at once after a
	// wake-up.
	Backoff(attempt int) (wait time.Duration, retry bool)
}

// minBackoff is the shortest wait between attempts, whatever a strategy
// returns, so that a zero or negative duration cannot turn waiting into a
// loop hammering Redis.
const minBackoff = time.Millisecond

// NoRetry gives up after the first attempt: Acquire then behaves like
// TryAcquire, but reports failure as ErrNotAcquired.
func NoRetry() RetryStrategy { return noRetry{} }

type noRetry struct{}

func (noRetry) Backoff(int) (time.Duration, bool) { return 0, false }

// LinearRetry waits d between attempts, forever (until the context of
// Acquire ends). A d below 1ms counts as 1ms.
func LinearRetry(d time.Duration) RetryStrategy { return linearRetry{max(d, minBackoff)} }

type linearRetry struct{ d time.Duration }

func (r linearRetry) Backoff(int) (time.Duration, bool) { return r.d, true }

// ExponentialRetry waits minWait after the first failed attempt and
// doubles the wait after each further one, up to maxWait, forever (until
// the context of Acquire ends). Each wait d is drawn at random from its
// upper half, [d/2, d], so that waiters that failed together do not retry
// together. A minWait below 1ms counts as 1ms; a maxWait below minWait
// counts as minWait.
func ExponentialRetry(minWait, maxWait time.Duration) RetryStrategy {
	lo := max(minWait, minBackoff)
	return exponentialRetry{min: lo, max: max(maxWait, lo)}
}

type exponentialRetry struct{ min, max time.Duration }

func (r exponentialRetry) Backoff(attempt int) (time.Duration, bool) {
	d := r.min
	for i := 1; i < attempt && d < r.max; i++ {
		if d > r.max/2 {
			d = r.max // doubling could overflow
			break
		}
		d *= 2
	}
	half := d / 2
	return half + rand.N(d-half+1), true
}

// LimitRetry gives up after n retries of s: Acquire makes at most n+1
// attempts. A nil s means the default strategy (see Options.Retry); a
// negative n counts as 0.
func LimitRetry(s RetryStrategy, n int) RetryStrategy {
	if s == nil {
		s = defaultRetry
	}
	return limitRetry{s: s, n: max(n, 0)}
}

type limitRetry struct {
	s RetryStrategy
	n int
}

func (r limitRetry) Backoff(attempt int) (time.Duration, bool) {
	if attempt > r.n {
		return 0, false
	}
	return r.s.Backoff(attempt)
}
