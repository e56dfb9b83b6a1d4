package lock

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

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/prebuilt"
)

// Errors of the lock. Compare with errors.Is.
var (
	// ErrNotAcquired means Acquire or TryAcquire did not get the lock
	// because another holder has it. When Acquire gives up because its
	// context ended, the error also matches the context's error.
	ErrNotAcquired = errors.New("lock: not acquired")
	// ErrNotHeld means the caller does not hold the lock (any more): it
	// expired, another holder has it since, or this Lock never acquired it
	// or already released it.
	ErrNotHeld = errors.New("lock: not held")
	// ErrAlreadyHeld means Acquire or TryAcquire was called on a Lock that
	// already holds its key, or is acquiring it in another goroutine. One
	// Lock is one holder: give each competing goroutine its own Lock.
	ErrAlreadyHeld = errors.New("lock: already held or being acquired by this Lock")
	// ErrFenceExhausted means a lock's fence counter is at the largest
	// int64, so no larger fence can be issued: the acquisition is undone
	// and the lock is not taken. Only a counter written from outside
	// gets there.
	ErrFenceExhausted = errors.New("lock: fence counter exhausted (at the largest int64)")
	// ErrNotInteger means a lock's fence counter holds something other
	// than a decimal int64, written from outside: the acquisition is
	// undone and the lock is not taken. If the counter is not a string,
	// the error also matches redislua.ErrWrongType.
	ErrNotInteger = errors.New("lock: fence counter is not an integer")
	// ErrNoExpiry means Lock.TTL found the lock key holding this Lock's
	// token but without a TTL: something outside this Lock removed it
	// (PERSIST, or a SET without an expiry).
	ErrNoExpiry = errors.New("lock: the lock key has no TTL: something outside this Lock removed it")
	// ErrInvalidTTL means a TTL under 3ms, which the margin for clock
	// drift would use up (see Options.TTL), or a RefreshInterval that is
	// not at least 1ms and shorter than the TTL less its margin (see
	// Options.RefreshInterval).
	ErrInvalidTTL = errors.New("lock: invalid TTL")
	// ErrInvalidOptions means Options that New cannot use otherwise: a
	// RefreshInterval without AutoRefresh, or a RetryStrategy that is a
	// nil pointer.
	ErrInvalidOptions = errors.New("lock: invalid options")
)

// abandonTimeout bounds the release Acquire sends, after an attempt whose
// outcome is unknown, so as not to leave the lock to expire.
const abandonTimeout = time.Second

// The lock's scripts (lua/lock), resolved once.
var (
	acquireScript         = prebuilt.Script("lock/acquire")
	acquireUnfencedScript = prebuilt.Script("lock/acquire_unfenced")
	releaseScript         = prebuilt.Script("lock/release")
	refreshScript         = prebuilt.Script("lock/refresh")
	pttlScript            = prebuilt.Script("lock/pttl")
)

// Client is what a Lock needs of a client: running scripts, and
// subscribing to the channel on which a release wakes waiters.
// *redis.Client, *redis.ClusterClient and *redis.Ring satisfy it. The
// waiting Acquire calls of a *redis.Client or *redis.ClusterClient share
// one subscription; those of any other Client subscribe one by one.
type Client interface {
	redis.Scripter
	Subscribe(ctx context.Context, channels ...string) *redis.PubSub
}

var (
	_ Client = (*redis.Client)(nil)
	_ Client = (*redis.ClusterClient)(nil)
	_ Client = (*redis.Ring)(nil)
)

// Lock is a distributed mutual-exclusion lock on one Redis key. See the
// package documentation for how it works and what it promises.
//
// A Lock is one holder. Its methods are safe to call from several
// goroutines (a watchdog or monitor may call TTL while another goroutine
// works, and any goroutine may call Release), but while it holds the key
// or is acquiring it, Acquire and TryAcquire return ErrAlreadyHeld: give
// each goroutine that competes for the key its own Lock. New does no I/O,
// so this is cheap. A Lock may be acquired again after Release. Make
// Locks with New: every call on a zero Lock returns redislua.ErrNilClient.
type Lock struct {
	client   Client
	key      string
	fenceKey string // "" with NoFence
	channel  string
	settings
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
// deadline.go.
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

// New returns a lock on key, not yet acquired, with opts (nil means every
// default); it sends nothing. It refuses, with an error and a nil Lock, a
// nil client (redislua.ErrNilClient), an empty key (redislua.ErrEmptyKey),
// a key the library reserves for its own state, such as another lock's
// fence counter (redislua.ErrReservedKey), and Options it cannot use
// (ErrInvalidTTL, ErrInvalidOptions, or for WaitReplicas
// redislua.ErrInvalidReplicas and redislua.ErrWaitUnsupported).
func New(c Client, key string, opts *Options) (*Lock, error) {
	if prebuilt.IsNilClient(c) {
		return nil, fmt.Errorf("%w: lock %s", redislua.ErrNilClient, prebuilt.Quote(key))
	}
	if err := prebuilt.CheckKey(key, "lock key"); err != nil {
		return nil, err
	}
	s, err := settingsFor(c, key, opts)
	if err != nil {
		return nil, err
	}
	l := &Lock{client: c, key: key, settings: s, channel: keyspace.Derive(key, keyspace.KindReleased)}
	l.ttlArg = strconv.FormatInt(l.ttl.Milliseconds(), 10)
	l.keys = []string{key}
	if !s.noFence {
		l.fenceKey = FenceKey(key)
		l.keys = append(l.keys, l.fenceKey)
	}
	return l, nil
}

// FenceKey returns the key of the fence counter of the locks on key
// ("job{job}redislua:fence" for "job", "{u1}:job{}redislua:fence" for
// "{u1}:job"), in key's cluster slot; see docs/keys.md. Locks made with
// Options.NoFence neither create nor read it. It never expires, since
// fences must never repeat: delete it only when no holder of an older
// fence can remain, and fences start again at 1.
func FenceKey(key string) string { return keyspace.Derive(key, keyspace.KindFence) }

// invalid returns redislua.ErrNilClient for a Lock that New did not make
// (a zero Lock has no client), which every call returns before sending
// anything.
func (l *Lock) invalid() error {
	if l.keys == nil {
		return fmt.Errorf("%w: lock %s: not made by New", redislua.ErrNilClient, prebuilt.Quote(l.key))
	}
	return nil
}

// Key returns the lock's key.
func (l *Lock) Key() string { return l.key }

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
// Lock does not hold its key or was made with Options.NoFence. Fences of
// one key increase strictly with each acquisition, across all holders and
// over the whole int64 range, as long as the Redis master keeps its
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
// successful refresh (see Options.AutoRefresh), or the watchdog, a
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
// Options.AutoRefresh), when the key may have expired and another holder
// taken it, does not count: Acquire releases it and waits on as if the
// lock were held. When ctx ends first, the error matches both
// ErrNotAcquired and ctx.Err(); when the strategy gives up, it matches
// ErrNotAcquired. A fence counter at the largest int64 is
// ErrFenceExhausted, one holding something other than an integer
// ErrNotInteger (also redislua.ErrWrongType if it is not a string): the
// script undoes the acquisition, so the lock stays free. A Redis error is
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
	n, err := releaseScript.Run(ctx, l.client, l.keys[:1], token, l.channel).Int64()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.unreleased = token
		return false, fmt.Errorf("lock: releasing %s (Release again retries): %w", prebuilt.Quote(l.key), err)
	}
	if l.unreleased == token {
		l.unreleased = ""
	}
	return n == 1, nil
}

// Refresh sets the lock's TTL to ttl (zero means the Lock's TTL) if this
// Lock still holds it, and moves the local deadline (see
// Options.AutoRefresh) to the start of this call plus ttl, less the
// margin. It returns ErrNotHeld when the lock is gone, or counted lost,
// and at the latest at the local deadline: a refresh that cannot land
// before it is lost. A ttl under 3ms is ErrInvalidTTL, before anything is
// sent. After a transient error it tries again as Options.RefreshRetry
// says. The watchdog, if any, keeps refreshing with the Lock's TTL.
func (l *Lock) Refresh(ctx context.Context, ttl time.Duration) error {
	if err := l.invalid(); err != nil {
		return err
	}
	arg := l.ttlArg
	if ttl == 0 {
		ttl = l.ttl
	} else {
		if err := checkTTL(ttl); err != nil {
			return fmt.Errorf("%w: refreshing lock %s", err, prebuilt.Quote(l.key))
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
	ms, err := pttlScript.Run(ctx, l.client, l.keys[:1], h.token).Int64()
	switch {
	case errors.Is(err, redis.Nil):
		return 0, l.lose(h, l.goneErr())
	case err != nil:
		return 0, fmt.Errorf("lock: reading the TTL of %s: %w", prebuilt.Quote(l.key), err)
	case ms == -1:
		return 0, fmt.Errorf("%w: lock %s", ErrNoExpiry, prebuilt.Quote(l.key))
	case ms < 0:
		return 0, fmt.Errorf("lock: reading the TTL of %s: unexpected PTTL %d", prebuilt.Quote(l.key), ms)
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
	return fmt.Errorf("%w: lock %s: this Lock does not hold it", ErrNotHeld, prebuilt.Quote(l.key))
}

// goneErr is the error of a lock whose key no longer holds the token.
func (l *Lock) goneErr() error {
	return fmt.Errorf("%w: lock %s expired or was taken by another holder", ErrNotHeld, prebuilt.Quote(l.key))
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
	redislua.Notify(context.Background(), l.client, redislua.Event{Name: EventLost}) // quick, as observers must be
	close(h.lost)
	if l.onLost != nil {
		l.onLost(err)
	}
	return err
}

// newToken returns a random token: 128 bits from crypto/rand, as 26
// base32 characters.
func newToken() string { return rand.Text() }
