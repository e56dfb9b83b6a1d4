package lock

import (
	"fmt"
	"time"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/clients"
	"github.com/redislua/redislua/internal/prebuilt"
)

// DefaultTTL is the TTL of a lock whose Options are nil or leave TTL zero.
const DefaultTTL = 30 * time.Second

// defaultRetry is the RetryStrategy of Acquire when Options.Retry is nil:
// it waits until the lock is acquired or the context ends.
var defaultRetry = ExponentialRetry(10*time.Millisecond, 500*time.Millisecond)

// minTTL is the shortest TTL a Lock takes: below it, the margin
// (TTL/100 + 2ms) would leave the local deadline at or before the start
// of the call that set the TTL, and no acquisition or refresh could count.
const minTTL = 3 * time.Millisecond

// Options configures a Lock. A nil *Options means every default. New
// checks every field and refuses a value it cannot use.
type Options struct {
	// TTL is how long the lock lives unless released or refreshed; the
	// holder must finish (or refresh) within it. Zero means DefaultTTL;
	// anything else below 3ms is ErrInvalidTTL, as the margin (see
	// AutoRefresh) would leave no time to hold the lock. It is sent in
	// whole milliseconds, rounded down.
	TTL time.Duration

	// Retry says how long Acquire waits between attempts while another
	// holder has the lock; a release wakes it earlier. Nil means
	// ExponentialRetry(10ms, 500ms), which waits until the lock is
	// acquired or the context ends. TryAcquire makes one attempt whatever
	// this says.
	Retry RetryStrategy

	// AutoRefresh starts a watchdog with each acquisition: a goroutine
	// that sets the TTL again every RefreshInterval for as long as the
	// lock is held, and stops on Release, or when the lock is lost.
	//
	// With or without it, each acquisition has a local deadline: the
	// start of the acquiring attempt, or of the last refresh that
	// succeeded, plus the TTL it set, less a margin of TTL/100 + 2ms.
	// When the deadline passes, a timer reports the acquisition lost
	// (Lost, OnLost), even while a refresh call still waits for a reply.
	// See the package documentation for what this does and does not
	// promise.
	AutoRefresh bool

	// RefreshInterval is how often the watchdog refreshes, counted from
	// the start of one refresh to the next. Zero means a third of TTL;
	// otherwise it must be at least 1ms and shorter than TTL less the
	// margin (see AutoRefresh), or no refresh could land before the
	// deadline (ErrInvalidTTL). Setting it without AutoRefresh is
	// ErrInvalidOptions.
	RefreshInterval time.Duration

	// RefreshRetry says how long Refresh, and the watchdog, wait before
	// sending a refresh again after a transient error: a network error or
	// timeout, or a server that cannot serve now (LOADING, TRYAGAIN,
	// CLUSTERDOWN, MASTERDOWN, READONLY, BUSY). Other errors, and
	// ErrNotHeld, are returned at once. Retries stop when the caller's
	// context ends or the acquisition's local deadline passes, whatever
	// the strategy says. Nil means one attempt: the watchdog then tries
	// again at its next tick.
	RefreshRetry RetryStrategy

	// OnLost, if set, is called once for each acquisition that the Lock
	// finds lost before Release: by the timer of its local deadline (see
	// AutoRefresh), on a goroutine of its own, or by the watchdog, or by
	// a Refresh or TTL call that finds the lock gone, on their
	// goroutines. The error matches ErrNotHeld. It is called just after
	// Lost is closed, so what it does, however long it blocks, does not
	// delay Lost; it may call Release. A goroutine woken by Lost may run
	// before OnLost has.
	OnLost func(err error)

	// NoFence leaves out the fencing token: Fence returns 0, and no fence
	// key is created or read, so the lock keeps nothing in Redis once it
	// is released or expires. Use it for locks on many short-lived names
	// (a lock per order ID, whose fence keys would otherwise accumulate,
	// as they never expire), or when the storage the lock protects cannot
	// check fences. An acquisition is also one command cheaper.
	NoFence bool

	// WaitReplicas, when not zero, makes each acquisition wait, in the
	// same round trip, until that many replicas have it (see
	// redislua.Script.RunAndWait). If fewer acknowledge it in time,
	// Acquire and TryAcquire release the key again and return a
	// *redislua.ReplicaError (redislua.ErrTooFewReplicas): the Lock does
	// not hold it. This narrows the window in which a failover loses an
	// acquisition and lets a second holder in (see Lock.Fence); it does
	// not close it. It needs a *redis.Client or *redis.ClusterClient
	// (redislua.ErrWaitUnsupported otherwise), and a Timeout below the
	// client's ReadTimeout and below the TTL less its margin
	// (redislua.ErrInvalidReplicas).
	WaitReplicas redislua.Replicas
}

// settings is what New makes of Options: every default filled in.
type settings struct {
	ttl          time.Duration
	retry        RetryStrategy
	refresh      time.Duration // the watchdog's interval; 0 means no watchdog
	refreshRetry RetryStrategy // nil: never
	onLost       func(error)
	noFence      bool
	waitReplicas redislua.Replicas
}

// settingsFor checks opts for a lock on key of client c, and fills in the
// defaults.
func settingsFor(c Client, key string, opts *Options) (settings, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	s := settings{ttl: o.TTL, retry: o.Retry, refreshRetry: o.RefreshRetry, onLost: o.OnLost, noFence: o.NoFence, waitReplicas: o.WaitReplicas}
	if s.ttl == 0 {
		s.ttl = DefaultTTL
	}
	if s.retry == nil {
		s.retry = defaultRetry
	}
	q := prebuilt.Quote(key)
	if err := checkTTL(s.ttl); err != nil {
		return s, fmt.Errorf("%w: lock %s", err, q)
	}
	if r := o.Retry; r != nil && clients.IsNil(r) {
		return s, fmt.Errorf("%w: lock %s: Retry is a nil %T", ErrInvalidOptions, q, r)
	}
	if r := o.RefreshRetry; r != nil && clients.IsNil(r) {
		return s, fmt.Errorf("%w: lock %s: RefreshRetry is a nil %T", ErrInvalidOptions, q, r)
	}
	if o.AutoRefresh {
		s.refresh = o.RefreshInterval
		if s.refresh == 0 {
			s.refresh = s.ttl / 3
		}
		// A refresh sent at the end of an interval must have time to land
		// before the deadline.
		limit := s.ttl.Truncate(time.Millisecond) - expiryMargin(s.ttl)
		if s.refresh >= limit || s.refresh < time.Millisecond {
			return s, fmt.Errorf("%w: lock %s: RefreshInterval must be at least 1ms and shorter than TTL less its margin (TTL/100 + 2ms): %v for a TTL of %v",
				ErrInvalidTTL, q, s.refresh, s.ttl)
		}
	} else if o.RefreshInterval != 0 {
		return s, fmt.Errorf("%w: lock %s: RefreshInterval %v without AutoRefresh", ErrInvalidOptions, q, o.RefreshInterval)
	}
	if o.WaitReplicas != (redislua.Replicas{}) {
		if err := o.WaitReplicas.Check(c); err != nil {
			return s, fmt.Errorf("%w: lock %s", err, q)
		}
		// An acquisition whose reply comes after its local deadline does
		// not count: a wait that long would make every one of them late.
		if limit := s.ttl - expiryMargin(s.ttl); o.WaitReplicas.Timeout >= limit {
			return s, fmt.Errorf("%w: lock %s: WaitReplicas.Timeout %v must be shorter than the TTL less its margin, %v",
				redislua.ErrInvalidReplicas, q, o.WaitReplicas.Timeout, limit)
		}
	}
	return s, nil
}

// checkTTL refuses a TTL under minTTL, which also keeps out those that
// would be sent as 0 milliseconds or less (PEXPIRE with 0 deletes the key,
// and SET PX refuses it).
func checkTTL(ttl time.Duration) error {
	if ttl < minTTL {
		return fmt.Errorf("%w: %v is under %v, which the margin for clock drift (TTL/100 + 2ms) would use up", ErrInvalidTTL, ttl, minTTL)
	}
	return nil
}
