package redislua

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redislua/redislua/internal/keyspace"
)

// Lock errors. Compare with errors.Is.
var (
	// ErrNotAcquired means Acquire or TryAcquire did not get the lock
	// because another holder has it. When Acquire gives up because its
	// context ended, the error also matches the context's error.
	ErrNotAcquired = errors.New("redislua: lock not acquired")
	// ErrNotHeld means the caller does not hold the lock (any more): it
	// expired, another holder has it since, or this Lock never acquired it
	// or already released it.
	ErrNotHeld = errors.New("redislua: lock not held")
	// ErrAlreadyHeld means Acquire or TryAcquire was called on a Lock that
	// already holds its key, or is acquiring it in another goroutine. One
	// Lock is one holder: give each competing goroutine its own Lock.
	ErrAlreadyHeld = errors.New("redislua: lock already held or being acquired by this Lock")
	// ErrFenceExhausted means a lock's fence counter is at the largest
	// int64, so no larger fence can be issued: the acquisition is undone
	// and the lock is not taken. Only a counter written from outside
	// gets there.
	ErrFenceExhausted = errors.New("redislua: lock fence counter exhausted (at the largest int64)")
	// ErrNoExpiry means Lock.TTL found the lock key holding this Lock's
	// token but without a TTL: something outside this Lock removed it
	// (PERSIST, or a SET without an expiry).
	ErrNoExpiry = errors.New("redislua: the lock key has no TTL: something outside this Lock removed it")
)

// DefaultLockTTL is the TTL of a lock whose LockOptions are nil or leave
// TTL zero.
const DefaultLockTTL = 30 * time.Second

// defaultRetry is the RetryStrategy of Acquire when LockOptions.Retry is
// nil: it waits until the lock is acquired or the context ends.
var defaultRetry = ExponentialRetry(10*time.Millisecond, 500*time.Millisecond)

// abandonTimeout bounds the release Acquire sends, after an attempt whose
// outcome is unknown, so as not to leave the lock to expire.
const abandonTimeout = time.Second

// The lock's scripts, resolved once.
var (
	lockAcquire         = prebuilt.MustScript("lock/acquire")
	lockAcquireUnfenced = prebuilt.MustScript("lock/acquire_unfenced")
	lockRelease         = prebuilt.MustScript("lock/release")
	lockRefresh         = prebuilt.MustScript("lock/refresh")
	lockPTTL            = prebuilt.MustScript("lock/pttl")
)

// LockClient is what a Lock needs of a client: running scripts, and
// subscribing to the channel on which a release wakes waiters.
// *redis.Client, *redis.ClusterClient and *redis.Ring satisfy it. The
// waiting Acquire calls of a *redis.Client or *redis.ClusterClient share
// one subscription; those of any other LockClient subscribe one by one.
type LockClient interface {
	redis.Scripter
	Subscribe(ctx context.Context, channels ...string) *redis.PubSub
}

var (
	_ LockClient = (*redis.Client)(nil)
	_ LockClient = (*redis.ClusterClient)(nil)
	_ LockClient = (*redis.Ring)(nil)
)

// LockOptions configures a Lock. A nil *LockOptions means every default.
type LockOptions struct {
	// TTL is how long the lock lives unless released or refreshed; the
	// holder must finish (or refresh) within it. Zero means
	// DefaultLockTTL; anything else below 3ms is ErrInvalidTTL, as the
	// margin (see AutoRefresh) would leave no time to hold the lock. It is
	// sent in whole milliseconds, rounded down.
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
	// The margin is Redlock's clock-drift allowance: 1% for a server
	// clock that runs faster than this one, 2ms for a timer that fires
	// late. When the deadline passes, a timer reports the acquisition
	// lost (Lost, OnLost), even while a refresh call still waits for a
	// reply, so the loss is known before the key can expire on the
	// server. This holds while the process runs and the master keeps the
	// key: a process paused past the deadline (a stopped VM, a long GC)
	// learns of it late, which is what fences (see Lock.Fence) are for,
	// and a key lost in a failover (see Lock) is found gone only by the
	// next refresh.
	AutoRefresh bool

	// RefreshInterval is how often the watchdog refreshes, counted from
	// the start of one refresh to the next. Zero means a third of TTL;
	// otherwise it must be at least 1ms and shorter than TTL less the
	// margin (see AutoRefresh), or no refresh could land before the
	// deadline. It is ignored without AutoRefresh.
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

	// OnLost, if set, is called once for each acquisition that this Lock
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

	// WaitReplicas, when not zero, makes each acquisition wait, in the same
	// round trip, until that many replicas have it (see RunAndWait). If
	// fewer acknowledge it in time, Acquire and TryAcquire release the key
	// again and return a *ReplicaError (ErrTooFewReplicas): the Lock does
	// not hold it. This narrows the window in which a failover loses an
	// acquisition and lets a second holder in (see Fence); it does not
	// close it. It needs a *redis.Client or *redis.ClusterClient
	// (ErrWaitUnsupported otherwise), and a Timeout below the client's
	// ReadTimeout and below the TTL less its margin (ErrInvalidReplicas).
	WaitReplicas Replicas
}

// Lock is a distributed mutual-exclusion lock on one Redis key, in the
// manner of bsm/redislock and Redisson's RLock:
//
//   - The key holds a random token (crypto/rand, new for each acquisition)
//     with a TTL, so a crashed holder's lock expires by itself. Release,
//     Refresh and TTL check the token atomically in a script, so a holder
//     whose lock expired cannot release or extend a later holder's lock.
//   - A local timer counts each acquisition lost a little before its TTL
//     can run out on the server, unless a refresh moved it (see
//     LockOptions.AutoRefresh), and closes Lost: a holder whose refreshes
//     get no reply learns of it before another holder can take the key.
//   - Each acquisition gets a fencing token (Fence), an integer that
//     increases strictly with each acquisition of the key. Pass it to the
//     storage the lock protects and have that refuse writes with a smaller
//     fence than one it has seen: that stops a holder who was paused past
//     its TTL. The counter is one small key next to the lock key, in its
//     cluster slot (FenceKey: "job{job}redislua:fence" for a key "job",
//     "{u1}:job{}redislua:fence" for "{u1}:job"; see docs/keys.md). It
//     never expires, since fences must never repeat; deleting it restarts
//     the fences at 1. LockOptions.NoFence leaves it out.
//   - Release publishes on a channel named the same way
//     ("job{job}redislua:released"), in the same script that deletes the
//     key, and waiting Acquire calls subscribe to it, so a release hands
//     the lock over at once. The calls waiting on one *redis.Client or
//     *redis.ClusterClient share one pub/sub connection, open while any
//     waits; on a *redis.Ring or another LockClient each call subscribes
//     on its own. A RetryStrategy polls as a fallback for a missed
//     message, a refused subscription or an expired lock.
//
// The lock lives on one Redis master. Replication is asynchronous: if the
// master dies before an acquisition reaches the replica that replaces it,
// the lock and its fence increment are lost together, and another holder
// gets the lock at once, with the lost acquisition's fence (see Fence).
//
// A Lock is one holder. Its methods are safe to call from several
// goroutines (a watchdog or monitor may call TTL while another goroutine
// works, and any goroutine may call Release), but while it holds the key
// or is acquiring it, Acquire and TryAcquire return ErrAlreadyHeld: give
// each goroutine that competes for the key its own Lock. NewLock does no
// I/O, so this is cheap. A Lock may be acquired again after Release. Make
// Locks with NewLock: every call on a zero Lock returns ErrNilClient.
type Lock struct {
	client   LockClient
	key      string
	fenceKey string // "" with NoFence
	channel  string
	ttl      time.Duration
	retry    RetryStrategy
	refresh  time.Duration // the watchdog's interval; 0 means no watchdog
	// refreshRetry retries refreshes after a transient error; nil: never.
	refreshRetry RetryStrategy
	onLost       func(error)
	waitReplicas Replicas
	// err is a problem with NewLock's arguments, returned by every call.
	err error
	// keys and ttlArg are the acquire script's KEYS (the lock key, and the
	// fence key unless NoFence) and the TTL, built once.
	keys   []string
	ttlArg string

	mu        sync.Mutex
	acquiring bool
	cur       *holding // nil when not held
	last      *holding // the current or most recent acquisition
	// unreleased is the token of an acquisition whose Release failed with
	// an error, or of an attempt whose release failed after it ended in an
	// error (see abandon), so that it may still hold the key: Release
	// (when nothing is held) and Acquire send its release again. "" when
	// none.
	unreleased string
}

// holding is one acquisition of a Lock. Its deadline and state are in
// lock_deadline.go.
type holding struct {
	token string
	fence int64

	lost  chan struct{} // closed when this acquisition is found lost
	timer *time.Timer   // runs expire at the deadline; set once, under mu

	stop context.CancelFunc // stops the watchdog; nil without one
	done chan struct{}      // closed when the watchdog has stopped

	mu sync.Mutex
	// deadline is when this Lock counts the acquisition lost unless a
	// refresh moves it: see localDeadline.
	deadline time.Time
	// setAt is when the call that set deadline (the acquiring attempt or
	// a refresh) was sent, at or before the server set its TTL.
	setAt time.Time
	// lastErr is the error of the last refresh since then, if it failed:
	// the likely cause of an expiry.
	lastErr error
	// lostErr is what lose reported, once the acquisition is found lost.
	lostErr error
	// ended is set by Release: nothing is reported after it.
	ended bool
}

// NewLock returns a lock on key, not yet acquired; it sends nothing. A
// problem with its arguments (a nil client: ErrNilClient; an empty key:
// ErrEmptyKey; a bad TTL or refresh interval: ErrInvalidTTL; a key from
// which no key in its slot can be derived: ErrCrossSlot) is returned by
// every call on the Lock, before anything is sent.
func NewLock(c LockClient, key string, opts *LockOptions) *Lock {
	var o LockOptions
	if opts != nil {
		o = *opts
	}
	l := &Lock{client: c, key: key, ttl: o.TTL, retry: o.Retry, refreshRetry: o.RefreshRetry, onLost: o.OnLost, waitReplicas: o.WaitReplicas}
	if l.ttl == 0 {
		l.ttl = DefaultLockTTL
	}
	if l.retry == nil {
		l.retry = defaultRetry
	}
	if o.AutoRefresh {
		l.refresh = o.RefreshInterval
		if l.refresh == 0 {
			l.refresh = l.ttl / 3
		}
	}
	l.err = l.check(o)
	if l.err != nil {
		return l
	}
	l.ttlArg = strconv.FormatInt(l.ttl.Milliseconds(), 10)
	l.keys = []string{l.key, l.fenceKey}
	if o.NoFence {
		l.keys = l.keys[:1]
	}
	return l
}

// check validates NewLock's arguments and derives the fence key and the
// channel.
func (l *Lock) check(o LockOptions) error {
	if isNilClient(l.client) {
		return fmt.Errorf("%w: lock %s", ErrNilClient, quoteKey(l.key))
	}
	if err := checkUserKey(l.key, "lock key"); err != nil {
		return err
	}
	if err := checkTTL(l.ttl); err != nil {
		return fmt.Errorf("%w: lock %s", err, quoteKey(l.key))
	}
	if o.AutoRefresh {
		// A refresh sent at the end of an interval must have time to land
		// before the deadline.
		limit := l.ttl.Truncate(time.Millisecond) - expiryMargin(l.ttl)
		if o.RefreshInterval < 0 || l.refresh >= limit || l.refresh < time.Millisecond {
			return fmt.Errorf("%w: lock %s: RefreshInterval must be at least 1ms and shorter than TTL less its margin (TTL/100 + 2ms): %v for a TTL of %v",
				ErrInvalidTTL, quoteKey(l.key), l.refresh, l.ttl)
		}
	}
	if o.WaitReplicas != (Replicas{}) {
		if err := o.WaitReplicas.checkFor(l.client); err != nil {
			return fmt.Errorf("%w: lock %s", err, quoteKey(l.key))
		}
		// An acquisition whose reply comes after its local deadline does
		// not count: a wait that long would make every one of them late.
		if limit := l.ttl - expiryMargin(l.ttl); o.WaitReplicas.Timeout >= limit {
			return fmt.Errorf("%w: lock %s: WaitReplicas.Timeout %v must be shorter than the TTL less its margin, %v",
				ErrInvalidReplicas, quoteKey(l.key), o.WaitReplicas.Timeout, limit)
		}
	}
	if !o.NoFence {
		l.fenceKey = keyspace.Derive(l.key, kindFence)
	}
	l.channel = keyspace.Derive(l.key, kindReleased)
	return nil
}

// minLockTTL is the shortest TTL a Lock takes: below it, the margin
// (TTL/100 + 2ms) would leave the local deadline at or before the start
// of the call that set the TTL, and no acquisition or refresh could count.
const minLockTTL = 3 * time.Millisecond

// invalid returns the error every call on l returns before sending
// anything: a problem with NewLock's arguments, or ErrNilClient for a
// Lock that NewLock did not make (a zero Lock has no client).
func (l *Lock) invalid() error {
	if l.err != nil {
		return l.err
	}
	if l.keys == nil {
		return fmt.Errorf("%w: lock %s: not made by NewLock", ErrNilClient, quoteKey(l.key))
	}
	return nil
}

// checkTTL refuses a TTL under minLockTTL, which also keeps out those that
// would be sent as 0 milliseconds or less (PEXPIRE with 0 deletes the key,
// and SET PX refuses it).
func checkTTL(ttl time.Duration) error {
	if ttl < minLockTTL {
		return fmt.Errorf("%w: %v is under %v, which the margin for clock drift (TTL/100 + 2ms) would use up", ErrInvalidTTL, ttl, minLockTTL)
	}
	return nil
}

// Key returns the lock's key.
func (l *Lock) Key() string { return l.key }

// FenceKey returns the key of the lock's fence counter, "" with
// LockOptions.NoFence. Delete it only when no holder of an older fence can
// remain: fences then start again at 1.
func (l *Lock) FenceKey() string { return l.fenceKey }

// Token returns the random token of the current acquisition, "" when the
// Lock does not hold its key (as far as it knows: an expired lock keeps
// its token until Release).
func (l *Lock) Token() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return ""
	}
	return l.cur.token
}

// Fence returns the fencing token of the current acquisition, 0 when the
// Lock does not hold its key or was made with LockOptions.NoFence. Fences
// of one key increase strictly with each acquisition, across all holders
// and over the whole int64 range, as long as the Redis master keeps its
// writes: the fences of acquisitions lost in a failover (replication is
// asynchronous) are issued again to later holders. A counter that cannot
// go higher refuses the acquisition instead (see Acquire).
func (l *Lock) Fence() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return 0
	}
	return l.cur.fence
}

// Lost returns a channel that is closed when this Lock counts the current
// acquisition lost before Release: its local deadline passed without a
// successful refresh (see LockOptions.AutoRefresh), or the watchdog, a
// Refresh or a TTL call found the key expired or held by another. From
// then on Refresh and TTL return ErrNotHeld without sending anything, and
// Release still deletes the key if it holds the token, but returns
// ErrNotHeld. It is the channel of the most recent acquisition after
// Release (not closed by a clean Release), and nil before the first.
func (l *Lock) Lost() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		return nil
	}
	return l.last.lost
}

// TryAcquire makes one attempt to take the lock. It returns true when this
// Lock now holds it, and false with a nil error when another holder has
// it, or when the attempt took it but its reply came too late to count
// (see Acquire). Errors are those of Acquire.
func (l *Lock) TryAcquire(ctx context.Context) (bool, error) {
	err := l.acquire(ctx, false)
	if errors.Is(err, ErrNotAcquired) && ctx.Err() == nil {
		return false, nil
	}
	return err == nil, err
}

// Acquire takes the lock, waiting while another holder has it: a release
// wakes it at once, and the RetryStrategy polls meanwhile. It returns nil
// once this Lock holds the lock. An attempt that took the lock but whose
// reply came after the acquisition's local deadline (see
// LockOptions.AutoRefresh), when the key may have expired and another
// holder taken it, does not count: Acquire releases it and waits on as if
// the lock were held. When ctx ends first, the error matches
// both ErrNotAcquired and ctx.Err(); when the strategy gives up, it
// matches ErrNotAcquired. A fence counter at the largest int64 is
// ErrFenceExhausted, one holding something other than an integer
// ErrNotInteger (also ErrWrongType if it is not a string): the script
// undoes the acquisition, so the lock stays free. A Redis error is
// returned as it is, wrapped; if the attempt it ended may have taken the
// lock, Acquire first sends a release for it, so that it is not left to
// expire, and should that release fail too, Release and the next Acquire
// send it again, as after a failed Release. If this Lock's last Release
// failed with an error, Acquire sends that release again before each
// attempt, until one gets a reply.
func (l *Lock) Acquire(ctx context.Context) error {
	return l.acquire(ctx, true)
}

// Release gives the lock up and wakes its waiters. It stops the watchdog
// and the deadline's timer first; it does not wait for a refresh call
// still in flight, which can only find the token gone. It returns
// ErrNotHeld when the lock expired or another holder has it since (that
// holder's lock is left alone), when this Lock had counted the
// acquisition lost (see Lost), or when this Lock did not hold it. Release
// ends this Lock's acquisition whatever it returns.
//
// After any other error the release may not have reached Redis, and the
// key may still hold this Lock's token: calling Release again sends the
// release again, with the same token, and returns nil if it released the
// key, ErrNotHeld if the key no longer held the token (the first release
// did reach Redis, or the lock expired). Acquire sends it again too,
// before its attempts. Otherwise the lock expires with its TTL. The
// same goes for an Acquire that failed with an error after an attempt
// that may have taken the lock, if its own release failed too.
func (l *Lock) Release(ctx context.Context) error {
	if err := l.invalid(); err != nil {
		return err
	}
	l.mu.Lock()
	h := l.cur
	l.cur = nil
	token := l.unreleased
	l.mu.Unlock()
	var lostErr error
	if h != nil {
		lostErr = h.end()
		h.stopWatchdog()
		token = h.token
	}
	if token == "" {
		return l.notHoldingErr()
	}
	released, err := l.releaseToken(ctx, token)
	switch {
	case err != nil:
		return err
	case lostErr != nil:
		return lostErr
	case !released:
		return l.goneErr()
	}
	return nil
}

// releaseToken sends the release script for token: true when the key held
// token and is deleted, false when it did not hold it. After an error it
// records token as unreleased; after a reply it forgets it.
func (l *Lock) releaseToken(ctx context.Context, token string) (bool, error) {
	n, err := lockRelease.Run(ctx, l.client, l.keys[:1], token, l.channel).Int64()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.unreleased = token
		return false, fmt.Errorf("redislua: releasing lock %s (Release again retries): %w", quoteKey(l.key), err)
	}
	if l.unreleased == token {
		l.unreleased = ""
	}
	return n == 1, nil
}

// Refresh sets the lock's TTL to ttl (zero means the Lock's TTL) if this
// Lock still holds it, and moves the local deadline (see
// LockOptions.AutoRefresh) to the start of this call plus ttl, less the
// margin. It returns ErrNotHeld when the lock is gone, or counted lost,
// and at the latest at the local deadline: a refresh that cannot land
// before it is lost. After a transient error it tries again as
// LockOptions.RefreshRetry says. The watchdog, if any, keeps refreshing
// with the Lock's TTL.
func (l *Lock) Refresh(ctx context.Context, ttl time.Duration) error {
	if err := l.invalid(); err != nil {
		return err
	}
	arg := l.ttlArg
	if ttl == 0 {
		ttl = l.ttl
	} else {
		if err := checkTTL(ttl); err != nil {
			return fmt.Errorf("%w: refreshing lock %s", err, quoteKey(l.key))
		}
		arg = strconv.FormatInt(ttl.Milliseconds(), 10)
	}
	h, err := l.holding()
	if err != nil {
		return err
	}
	err = l.refreshTTL(ctx, h, ttl, arg, 0)
	if errors.Is(err, ErrNotHeld) {
		return l.lose(h, err)
	}
	return err
}

// TTL returns the lock's remaining time to live if this Lock holds it, and
// ErrNotHeld otherwise. A key without a TTL (something outside this Lock
// removed it) is ErrNoExpiry; a Refresh sets one again. A TTL longer than
// a time.Duration holds (set from outside) is the largest Duration.
func (l *Lock) TTL(ctx context.Context) (time.Duration, error) {
	if err := l.invalid(); err != nil {
		return 0, err
	}
	h, err := l.holding()
	if err != nil {
		return 0, err
	}
	ms, err := lockPTTL.Run(ctx, l.client, l.keys[:1], h.token).Int64()
	switch {
	case errors.Is(err, redis.Nil):
		return 0, l.lose(h, l.goneErr())
	case err != nil:
		return 0, fmt.Errorf("redislua: reading TTL of lock %s: %w", quoteKey(l.key), err)
	case ms == -1:
		return 0, fmt.Errorf("%w: lock %s", ErrNoExpiry, quoteKey(l.key))
	case ms < 0:
		return 0, fmt.Errorf("redislua: reading TTL of lock %s: unexpected PTTL %d", quoteKey(l.key), ms)
	case ms > math.MaxInt64/int64(time.Millisecond):
		return math.MaxInt64, nil // set from outside, beyond what a Duration holds
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// holding returns the current acquisition, or ErrNotHeld, also when it
// was found lost.
func (l *Lock) holding() (*holding, error) {
	l.mu.Lock()
	h := l.cur
	l.mu.Unlock()
	if h == nil {
		return nil, l.notHoldingErr()
	}
	if err := h.lostError(); err != nil {
		return nil, err
	}
	return h, nil
}

// notHoldingErr is the error of a call that needs an acquisition when
// this Lock has none.
func (l *Lock) notHoldingErr() error {
	return fmt.Errorf("%w: lock %s: this Lock does not hold it", ErrNotHeld, quoteKey(l.key))
}

// goneErr is the error of a lock whose key no longer holds the token.
func (l *Lock) goneErr() error {
	return fmt.Errorf("%w: lock %s expired or was taken by another holder", ErrNotHeld, quoteKey(l.key))
}

// lose records that acquisition h was found lost with err, which matches
// ErrNotHeld, and reports it once (Lost, then OnLost). It returns the
// error reported first, or err when h was released meanwhile, since
// there is nothing to report then.
func (l *Lock) lose(h *holding, err error) error {
	h.mu.Lock()
	if h.lostErr != nil || h.ended {
		if h.lostErr != nil {
			err = h.lostErr
		}
		h.mu.Unlock()
		return err
	}
	h.lostErr = err
	h.timer.Stop()
	h.mu.Unlock()
	// Lost closes first: OnLost may block (a Release on a silent
	// connection waits for the client's timeouts), and must not hold Lost
	// open past the point where another client can take the key.
	close(h.lost)
	if l.onLost != nil {
		l.onLost(err)
	}
	return err
}

// newToken returns a random token: 128 bits from crypto/rand, as 26
// base32 characters.
func newToken() string { return rand.Text() }
