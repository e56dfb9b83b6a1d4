package redislua

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
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
	// DefaultLockTTL; anything else below one millisecond is
	// ErrInvalidTTL. It is sent in whole milliseconds, rounded down.
	TTL time.Duration

	// Retry says how long Acquire waits between attempts while another
	// holder has the lock; a release wakes it earlier. Nil means
	// ExponentialRetry(10ms, 500ms), which waits until the lock is
	// acquired or the context ends. TryAcquire makes one attempt whatever
	// this says.
	Retry RetryStrategy

	// AutoRefresh starts a watchdog with each acquisition: a goroutine
	// that sets the TTL again every RefreshInterval for as long as the
	// lock is held, and stops on Release. When it finds the lock gone, or
	// cannot reach Redis for a whole TTL, it reports the loss through
	// Lost and OnLost and stops.
	AutoRefresh bool

	// RefreshInterval is how often the watchdog refreshes. Zero means a
	// third of TTL; otherwise it must be at least 1ms and shorter than
	// TTL. It is ignored without AutoRefresh.
	RefreshInterval time.Duration

	// OnLost, if set, is called once for each acquisition that this Lock
	// finds lost before Release: by the watchdog, or by a Refresh or TTL
	// call that finds the lock gone. The error matches ErrNotHeld. It
	// runs on the goroutine that noticed; a watchdog that noticed has
	// stopped by then. It may call Release, and should not block for
	// long.
	// It returns before Lost is closed, so it must not wait on Lost.
	OnLost func(err error)

	// NoFence leaves out the fencing token: Fence returns 0, and no fence
	// key is created or read, so the lock keeps nothing in Redis once it
	// is released or expires. Use it for locks on many short-lived names
	// (a lock per order ID, whose fence keys would otherwise accumulate,
	// as they never expire), or when the storage the lock protects cannot
	// check fences. An acquisition is also one command cheaper.
	NoFence bool
}

// Lock is a distributed mutual-exclusion lock on one Redis key, in the
// manner of bsm/redislock and Redisson's RLock:
//
//   - The key holds a random token (crypto/rand, new for each acquisition)
//     with a TTL, so a crashed holder's lock expires by itself. Release,
//     Refresh and TTL check the token atomically in a script, so a holder
//     whose lock expired cannot release or extend a later holder's lock.
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
// I/O, so this is cheap. A Lock may be acquired again after Release.
type Lock struct {
	client   LockClient
	key      string
	fenceKey string // "" with NoFence
	channel  string
	ttl      time.Duration
	retry    RetryStrategy
	refresh  time.Duration // the watchdog's interval; 0 means no watchdog
	onLost   func(error)
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
	// an error, so that it may still hold the key: Release (when nothing
	// is held) and Acquire send its release again. "" when none.
	unreleased string
}

// holding is one acquisition of a Lock.
type holding struct {
	token string
	fence int64
	setAt time.Time // when the acquiring attempt was sent, at or before its TTL was set

	lost     chan struct{} // closed when this acquisition is found lost
	lostOnce sync.Once

	stop context.CancelFunc // stops the watchdog; nil without one
	done chan struct{}      // closed when the watchdog has stopped
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
	l := &Lock{client: c, key: key, ttl: o.TTL, retry: o.Retry, onLost: o.OnLost}
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
		return fmt.Errorf("%w: lock %q", ErrNilClient, l.key)
	}
	if err := checkUserKey(l.key, "lock key"); err != nil {
		return err
	}
	if err := checkTTL(l.ttl); err != nil {
		return fmt.Errorf("%w: lock %q", err, l.key)
	}
	if o.AutoRefresh {
		if o.RefreshInterval < 0 || o.RefreshInterval >= l.ttl || l.refresh < time.Millisecond {
			return fmt.Errorf("%w: lock %q: RefreshInterval must be at least 1ms and shorter than TTL", ErrInvalidTTL, l.key)
		}
	}
	if !o.NoFence {
		l.fenceKey = keyspace.Derive(l.key, kindFence)
	}
	l.channel = keyspace.Derive(l.key, kindReleased)
	return nil
}

// checkTTL refuses a TTL that would be sent as 0 milliseconds or less:
// PEXPIRE with 0 deletes the key, and SET PX refuses it.
func checkTTL(ttl time.Duration) error {
	if ttl < time.Millisecond {
		return fmt.Errorf("%w: must be at least 1ms", ErrInvalidTTL)
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
// of one key increase strictly with each acquisition, across all holders,
// as long as the Redis master keeps its writes: the fences of acquisitions
// lost in a failover (replication is asynchronous) are issued again to
// later holders.
func (l *Lock) Fence() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return 0
	}
	return l.cur.fence
}

// Lost returns a channel that is closed when this Lock finds that it lost
// the current acquisition before Release: the watchdog (with AutoRefresh)
// or a Refresh or TTL call found the key expired or held by another. It
// is the channel of the most recent acquisition after Release (not closed
// by a clean Release), and nil before the first. Without AutoRefresh
// nothing watches the key: an expiry goes unnoticed until a call.
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
// it. Errors are those of Acquire.
func (l *Lock) TryAcquire(ctx context.Context) (bool, error) {
	err := l.acquire(ctx, false)
	if errors.Is(err, ErrNotAcquired) && ctx.Err() == nil {
		return false, nil
	}
	return err == nil, err
}

// Acquire takes the lock, waiting while another holder has it: a release
// wakes it at once, and the RetryStrategy polls meanwhile. It returns nil
// once this Lock holds the lock. When ctx ends first, the error matches
// both ErrNotAcquired and ctx.Err(); when the strategy gives up, it
// matches ErrNotAcquired. A Redis error is returned as it is, wrapped;
// if the attempt it ended may have taken the lock, Acquire first sends a
// release for it, so that it is not left to expire. If this Lock's last
// Release failed with an error, Acquire first sends that release again.
func (l *Lock) Acquire(ctx context.Context) error {
	return l.acquire(ctx, true)
}

// Release gives the lock up and wakes its waiters. It stops the watchdog
// first. It returns ErrNotHeld when the lock expired or another holder has
// it since (that holder's lock is left alone), or when this Lock did not
// hold it. Release ends this Lock's acquisition whatever it returns.
//
// After any other error the release may not have reached Redis, and the
// key may still hold this Lock's token: calling Release again sends the
// release again, with the same token, and returns nil if it released the
// key, ErrNotHeld if the key no longer held the token (the first release
// did reach Redis, or the lock expired). Acquire sends it again too,
// before its first attempt. Otherwise the lock expires with its TTL.
func (l *Lock) Release(ctx context.Context) error {
	if l.err != nil {
		return l.err
	}
	l.mu.Lock()
	h := l.cur
	l.cur = nil
	token := l.unreleased
	l.mu.Unlock()
	if h != nil {
		h.stopWatchdog()
		token = h.token
	}
	if token == "" {
		return fmt.Errorf("%w: lock %q: this Lock does not hold it", ErrNotHeld, l.key)
	}
	released, err := l.releaseToken(ctx, token)
	if err != nil {
		return err
	}
	if !released {
		return fmt.Errorf("%w: lock %q expired or was taken by another holder", ErrNotHeld, l.key)
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
		return false, fmt.Errorf("redislua: releasing lock %q (Release again retries): %w", l.key, err)
	}
	if l.unreleased == token {
		l.unreleased = ""
	}
	return n == 1, nil
}

// Refresh sets the lock's TTL to ttl (zero means the Lock's TTL) if this
// Lock still holds it, and returns ErrNotHeld otherwise. The watchdog, if
// any, keeps refreshing with the Lock's TTL.
func (l *Lock) Refresh(ctx context.Context, ttl time.Duration) error {
	if l.err != nil {
		return l.err
	}
	arg := l.ttlArg
	if ttl != 0 {
		if err := checkTTL(ttl); err != nil {
			return fmt.Errorf("%w: refreshing lock %q", err, l.key)
		}
		arg = strconv.FormatInt(ttl.Milliseconds(), 10)
	}
	h, err := l.holding()
	if err != nil {
		return err
	}
	ok, err := l.refreshOnce(ctx, h.token, arg)
	if err != nil {
		return err
	}
	if !ok {
		return l.lose(h, nil)
	}
	return nil
}

// TTL returns the lock's remaining time to live if this Lock holds it, and
// ErrNotHeld otherwise.
func (l *Lock) TTL(ctx context.Context) (time.Duration, error) {
	if l.err != nil {
		return 0, l.err
	}
	h, err := l.holding()
	if err != nil {
		return 0, err
	}
	ms, err := lockPTTL.Run(ctx, l.client, l.keys[:1], h.token).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, l.lose(h, nil)
	}
	if err != nil {
		return 0, fmt.Errorf("redislua: reading TTL of lock %q: %w", l.key, err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// holding returns the current acquisition, or ErrNotHeld.
func (l *Lock) holding() (*holding, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return nil, fmt.Errorf("%w: lock %q: this Lock does not hold it", ErrNotHeld, l.key)
	}
	return l.cur, nil
}

// refreshOnce sends one refresh: true when the lock was held and its TTL
// set, false when it was not held.
func (l *Lock) refreshOnce(ctx context.Context, token, ttlArg string) (bool, error) {
	n, err := lockRefresh.Run(ctx, l.client, l.keys[:1], token, ttlArg).Int64()
	if err != nil {
		return false, fmt.Errorf("redislua: refreshing lock %q: %w", l.key, err)
	}
	return n == 1, nil
}

// lose records that acquisition h was found lost, reports it once (Lost,
// OnLost) and returns the error that says so. cause, if not nil, is why
// the Lock concluded so without seeing the key gone.
func (l *Lock) lose(h *holding, cause error) error {
	err := fmt.Errorf("%w: lock %q expired or was taken by another holder", ErrNotHeld, l.key)
	if cause != nil {
		err = fmt.Errorf("%w: lock %q could not be refreshed for a whole TTL: %w", ErrNotHeld, l.key, cause)
	}
	first := false
	h.lostOnce.Do(func() { first = true })
	if first {
		// OnLost runs before Lost closes, so whoever waits on Lost sees
		// what OnLost did.
		if l.onLost != nil {
			l.onLost(err)
		}
		close(h.lost)
	}
	return err
}

// newToken returns a random token: 128 bits from crypto/rand, as 26
// base32 characters.
func newToken() string { return rand.Text() }
