package lock

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
)

// New refuses every argument it cannot use, with an error and no Lock,
// before anything is sent.
func TestNewRefusesBadArgumentsBeforeSending(t *testing.T) {
	b := testbackend.Miniredis(t)
	var nilClient *redis.Client
	var nilCustom *countingClient
	var nilRetry *badRetry
	cases := []struct {
		name string
		c    Client
		key  string
		opts *Options
		want error
	}{
		{"untyped nil client", nil, "k", nil, redislua.ErrNilClient},
		{"typed nil client", nilClient, "k", nil, redislua.ErrNilClient},
		{"typed nil custom client", nilCustom, "k", nil, redislua.ErrNilClient},
		{"empty key", b.Client, "", nil, redislua.ErrEmptyKey},
		{"sub-millisecond TTL", b.Client, "k", &Options{TTL: 500 * time.Microsecond}, ErrInvalidTTL},
		// Its margin is 2ms: the deadline would come as the TTL is set.
		{"TTL used up by its margin", b.Client, "k", &Options{TTL: 2*time.Millisecond + 900*time.Microsecond}, ErrInvalidTTL},
		{"negative TTL", b.Client, "k", &Options{TTL: -time.Second}, ErrInvalidTTL},
		{"refresh interval as long as TTL", b.Client, "k", &Options{TTL: time.Second, AutoRefresh: true, RefreshInterval: time.Second}, ErrInvalidTTL},
		// TTL less the margin is 988ms: a refresh sent after 990ms cannot
		// land before the deadline.
		{"refresh interval past the deadline", b.Client, "k", &Options{TTL: time.Second, AutoRefresh: true, RefreshInterval: 990 * time.Millisecond}, ErrInvalidTTL},
		{"negative refresh interval", b.Client, "k", &Options{AutoRefresh: true, RefreshInterval: -1}, ErrInvalidTTL},
		{"sub-millisecond refresh interval", b.Client, "k", &Options{AutoRefresh: true, RefreshInterval: time.Microsecond}, ErrInvalidTTL},
		{"refresh interval without AutoRefresh", b.Client, "k", &Options{RefreshInterval: time.Second}, ErrInvalidOptions},
		{"nil pointer Retry", b.Client, "k", &Options{Retry: nilRetry}, ErrInvalidOptions},
		{"nil pointer RefreshRetry", b.Client, "k", &Options{RefreshRetry: nilRetry}, ErrInvalidOptions},
		{"reserved key (another lock's fence counter)", b.Client, "job{job}redislua:fence", nil, redislua.ErrReservedKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := New(tc.c, tc.key, tc.opts)
			if !errors.Is(err, tc.want) || l != nil {
				t.Errorf("New = %v, %v; want no Lock and %v", l, err, tc.want)
			}
			if sent := b.Sent.Take(); len(sent) != 0 {
				t.Errorf("sent %v, want nothing", sent)
			}
		})
	}
}

// A zero Lock (not made by New) has no client: every call says so,
// without a panic.
func TestZeroLockRefusesCalls(t *testing.T) {
	ctx := context.Background()
	var l Lock
	calls := map[string]error{
		"Acquire": l.Acquire(ctx),
		"Release": l.Release(ctx),
		"Refresh": l.Refresh(ctx, 0),
	}
	_, calls["TryAcquire"] = l.TryAcquire(ctx)
	_, calls["TTL"] = l.TTL(ctx)
	for call, err := range calls {
		if !errors.Is(err, redislua.ErrNilClient) {
			t.Errorf("%s on a zero Lock: got %v, want redislua.ErrNilClient", call, err)
		}
	}
}

func TestLockRefusesBadCallsBeforeSending(t *testing.T) {
	b := testbackend.Miniredis(t)
	ctx := context.Background()
	l := mustNew(t, b.Client, "lock-test:calls", nil)
	if err := l.Release(ctx); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Release before Acquire: got %v, want ErrNotHeld", err)
	}
	if err := l.Refresh(ctx, time.Second); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Refresh before Acquire: got %v, want ErrNotHeld", err)
	}
	if _, err := l.TTL(ctx); !errors.Is(err, ErrNotHeld) {
		t.Errorf("TTL before Acquire: got %v, want ErrNotHeld", err)
	}
	for _, ttl := range []time.Duration{500 * time.Microsecond, 2 * time.Millisecond} {
		if err := l.Refresh(ctx, ttl); !errors.Is(err, ErrInvalidTTL) {
			t.Errorf("Refresh with %v: got %v, want ErrInvalidTTL", ttl, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err := l.Acquire(cancelled)
	if !errors.Is(err, ErrNotAcquired) || !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire with a cancelled context: got %v, want ErrNotAcquired and context.Canceled", err)
	}
	if sent := b.Sent.Take(); len(sent) != 0 {
		t.Errorf("sent %v, want nothing", sent)
	}
}

func TestLockLifecycle(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		const key = "lock-test:{life}"
		a := mustNew(t, b.Client, key, &Options{TTL: 10 * time.Second})
		other := mustNew(t, b.Client, key, nil)

		if tok, f := a.Token(), a.Fence(); tok != "" || f != 0 {
			t.Errorf("before Acquire: Token %q, Fence %d, want empty and 0", tok, f)
		}
		if ok, err := a.TryAcquire(ctx); !ok || err != nil {
			t.Fatalf("TryAcquire of a free lock: %v, %v", ok, err)
		}
		tok := a.Token()
		if len(tok) != 26 {
			t.Errorf("Token %q has %d characters, want 26 (128 random bits)", tok, len(tok))
		}
		if got := b.Client.Get(ctx, key).Val(); got != tok {
			t.Errorf("lock key holds %q, want the token %q", got, tok)
		}
		if got := a.Fence(); got != 1 {
			t.Errorf("first Fence = %d, want 1", got)
		}
		if got := b.Client.Get(ctx, keyspace.Derive("lock-test:{life}", keyspace.KindFence)).Val(); got != "1" {
			t.Errorf("fence key holds %q, want 1", got)
		}
		if ttl, err := b.Client.PTTL(ctx, keyspace.Derive("lock-test:{life}", keyspace.KindFence)).Result(); err != nil || ttl != -1 {
			t.Errorf("fence key PTTL = %v, %v; want no expiry (-1)", ttl, err)
		}

		if ok, err := other.TryAcquire(ctx); ok || err != nil {
			t.Errorf("TryAcquire of a held lock: %v, %v; want false, nil", ok, err)
		}
		if err := a.Acquire(ctx); !errors.Is(err, ErrAlreadyHeld) {
			t.Errorf("Acquire by the holder: got %v, want ErrAlreadyHeld", err)
		}

		ttl, err := a.TTL(ctx)
		if err != nil || ttl <= 0 || ttl > 10*time.Second {
			t.Errorf("TTL = %v, %v; want in (0, 10s]", ttl, err)
		}
		if err := a.Refresh(ctx, time.Minute); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if ttl, err = a.TTL(ctx); err != nil || ttl <= 10*time.Second || ttl > time.Minute {
			t.Errorf("TTL after Refresh(1m) = %v, %v; want in (10s, 1m]", ttl, err)
		}
		if err := a.Refresh(ctx, 0); err != nil {
			t.Fatalf("Refresh(0): %v", err)
		}
		if ttl, err = a.TTL(ctx); err != nil || ttl > 10*time.Second {
			t.Errorf("TTL after Refresh(0) = %v, %v; want the Lock's TTL, 10s", ttl, err)
		}

		if err := a.Release(ctx); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if n := b.Client.Exists(ctx, key).Val(); n != 0 {
			t.Errorf("lock key still exists after Release")
		}
		if err := a.Release(ctx); !errors.Is(err, ErrNotHeld) {
			t.Errorf("second Release: got %v, want ErrNotHeld", err)
		}
		if tok, f := a.Token(), a.Fence(); tok != "" || f != 0 {
			t.Errorf("after Release: Token %q, Fence %d, want empty and 0", tok, f)
		}

		if err := other.Acquire(ctx); err != nil {
			t.Fatalf("Acquire after Release: %v", err)
		}
		if got := other.Fence(); got != 2 {
			t.Errorf("second acquisition's Fence = %d, want 2", got)
		}
		if other.Token() == tok {
			t.Errorf("two acquisitions share the token %q", tok)
		}
		if err := other.Release(ctx); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if err := a.Acquire(ctx); err != nil {
			t.Fatalf("Acquire of a Lock reused after Release: %v", err)
		}
		if got := a.Fence(); got != 3 {
			t.Errorf("third acquisition's Fence = %d, want 3", got)
		}
		if a.Token() == tok {
			t.Errorf("a reused Lock kept its token")
		}
	})
}

func TestLockKeysForKeyWithoutHashTag(t *testing.T) {
	b := testbackend.Miniredis(t)
	ctx := context.Background()
	l := mustNew(t, b.Client, "lock-test-plain", nil)
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.Client.Get(ctx, "lock-test-plain{lock-test-plain}redislua:fence").Val(); got != "1" {
		t.Errorf("fence key lock-test-plain{lock-test-plain}redislua:fence holds %q, want 1", got)
	}
	if want := "lock-test-plain{lock-test-plain}redislua:released"; l.channel != want {
		t.Errorf("channel = %q, want %q", l.channel, want)
	}
}

// An expired holder must not release or extend the lock of the holder that
// came after it.
func TestLockExpiredHolderCannotTouchTheNextHoldersLock(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		const key = "lock-test:{expired}"
		var lostErrs []error
		old := mustNew(t, b.Client, key, &Options{OnLost: func(err error) { lostErrs = append(lostErrs, err) }})
		if err := old.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		if b.Real {
			// Let it expire for real: a 1ms TTL, then wait until the key is gone.
			if err := b.Client.PExpire(ctx, key, time.Millisecond).Err(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "the lock key to expire", func() bool {
				return b.Client.Exists(ctx, key).Val() == 0
			})
		} else {
			// miniredis's clock stands still: expire it by deleting it.
			b.Client.Del(ctx, key)
		}

		next := mustNew(t, b.Client, key, nil)
		if err := next.Acquire(ctx); err != nil {
			t.Fatalf("Acquire after expiry: %v", err)
		}
		if err := old.Refresh(ctx, time.Minute); !errors.Is(err, ErrNotHeld) {
			t.Errorf("Refresh by the expired holder: got %v, want ErrNotHeld", err)
		}
		if _, err := old.TTL(ctx); !errors.Is(err, ErrNotHeld) {
			t.Errorf("TTL by the expired holder: got %v, want ErrNotHeld", err)
		}
		if err := old.Release(ctx); !errors.Is(err, ErrNotHeld) {
			t.Errorf("Release by the expired holder: got %v, want ErrNotHeld", err)
		}
		if got := b.Client.Get(ctx, key).Val(); got != next.Token() {
			t.Errorf("lock key holds %q after the expired holder's calls, want the new holder's token %q", got, next.Token())
		}
		if ttl := b.Client.PTTL(ctx, key).Val(); ttl > DefaultTTL {
			t.Errorf("the expired holder's Refresh extended the new lock: PTTL %v", ttl)
		}
		if next.Fence() <= 1 {
			t.Errorf("new holder's fence %d, want more than the expired holder's 1", next.Fence())
		}

		select {
		case <-old.Lost():
		default:
			t.Error("Lost() not closed after Refresh found the lock gone")
		}
		if len(lostErrs) != 1 || !errors.Is(lostErrs[0], ErrNotHeld) {
			t.Errorf("OnLost calls: %v, want one ErrNotHeld", lostErrs)
		}
		select {
		case <-next.Lost():
			t.Error("the new holder's Lost() is closed")
		default:
		}
	})
}

// A release wakes a waiter at once, not after its retry interval.
func TestLockHandOffWakesWaiter(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		testHandOff(t, b.Client, "lock-test:{handoff}", nil)
	})
}

// testHandOff hands key over from a holder to a waiter, both made with
// opts (nil, or a NoFence option) and a 30s TTL, so that only the release
// can end the wait.
func testHandOff(t *testing.T, c redis.UniversalClient, key string, opts *Options) {
	ctx := context.Background()
	var o Options
	if opts != nil {
		o = *opts
	}
	holder := mustNew(t, c, key, &o)
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	// The waiter's second attempt comes right after its subscription is
	// confirmed; once it failed, the waiter settles into a 5s wait.
	settled := make(chan struct{})
	o.Retry = notifyRetry{LinearRetry(5 * time.Second), 2, settled}
	waiter := mustNew(t, c, key, &o)
	acquired := make(chan error, 1)
	go func() { acquired <- waiter.Acquire(ctx) }()
	select {
	case <-settled:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter did not make its second attempt")
	}
	if n := numSub(t, c, holder.channel); n != 1 {
		t.Fatalf("%d subscribers on %q while the waiter waits, want 1", n, holder.channel)
	}

	start := time.Now()
	if err := holder.Release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-acquired:
		if err != nil {
			t.Fatalf("waiter's Acquire: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("waiter still waiting 3s after Release; its retry interval is 5s, so the release did not wake it")
	}
	d := time.Since(start)
	if d > time.Second {
		t.Errorf("waiter acquired %v after Release, want well under its 5s retry interval", d)
	}
	t.Logf("hand-off took %v", d)
	if o.NoFence {
		if waiter.Fence() != 0 || holder.last.fence != 0 {
			t.Errorf("fences %d (holder), %d (waiter) without fencing, want 0", holder.last.fence, waiter.Fence())
		}
	} else if waiter.Fence() <= holder.last.fence {
		t.Errorf("waiter's fence %d not above the holder's %d", waiter.Fence(), holder.last.fence)
	}
	waitFor(t, 5*time.Second, "the waiter to unsubscribe", func() bool { return numSub(t, c, holder.channel) == 0 })
	if err := waiter.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// notifyRetry is a RetryStrategy that closes ch when asked for the backoff
// after attempt number n.
type notifyRetry struct {
	RetryStrategy
	n  int
	ch chan struct{}
}

func (r notifyRetry) Backoff(attempt int) (time.Duration, bool) {
	if attempt == r.n {
		close(r.ch)
	}
	return r.RetryStrategy.Backoff(attempt)
}

func TestLockAcquireGivesUpWithTheContext(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		const key = "lock-test:{deadline}"
		holder := mustNew(t, b.Client, key, nil)
		if err := holder.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		waiter := mustNew(t, b.Client, key, &Options{Retry: LinearRetry(10 * time.Millisecond)})

		dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		err := waiter.Acquire(dctx)
		if !errors.Is(err, ErrNotAcquired) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Acquire past its deadline: got %v, want ErrNotAcquired and context.DeadlineExceeded", err)
		}

		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(50*time.Millisecond, cancel)
		err = waiter.Acquire(cctx)
		if !errors.Is(err, ErrNotAcquired) || !errors.Is(err, context.Canceled) {
			t.Errorf("Acquire cancelled: got %v, want ErrNotAcquired and context.Canceled", err)
		}
		if tok := waiter.Token(); tok != "" {
			t.Errorf("failed Acquire left Token %q", tok)
		}
		if got := b.Client.Get(ctx, key).Val(); got != holder.Token() {
			t.Errorf("lock key holds %q, want the holder's token", got)
		}
	})
}

func TestLockRetryStrategyLimitsAttempts(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		const key = "lock-test:{limit}"
		holder := mustNew(t, b.Client, key, nil)
		if err := holder.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		c := &countingClient{Client: b.Client}
		b.Sent.Take()

		err := mustNew(t, c, key, &Options{Retry: NoRetry()}).Acquire(ctx)
		if !errors.Is(err, ErrNotAcquired) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Acquire with NoRetry: got %v, want ErrNotAcquired alone", err)
		}
		if n := testbackend.Count(b.Sent.Take(), "evalsha"); n != 1 || c.subscribes.Load() != 0 {
			t.Errorf("NoRetry made %d attempts and %d subscriptions, want 1 and 0", n, c.subscribes.Load())
		}

		err = mustNew(t, c, key, &Options{Retry: LimitRetry(LinearRetry(time.Millisecond), 3)}).Acquire(ctx)
		if !errors.Is(err, ErrNotAcquired) {
			t.Errorf("Acquire with LimitRetry: got %v, want ErrNotAcquired", err)
		}
		// The waiter's subscription is opened by its hub's goroutine, which
		// may not get to it within the three 1ms waits.
		if n := testbackend.Count(b.Sent.Take(), "evalsha"); n != 4 || c.subscribes.Load() > 1 {
			t.Errorf("LimitRetry(_, 3) made %d attempts and %d subscriptions, want 4 and at most 1", n, c.subscribes.Load())
		}
	})
}

// countingClient is a Client that counts its subscriptions.
type countingClient struct {
	*redis.Client
	subscribes atomic.Int32
}

func (c *countingClient) Subscribe(ctx context.Context, channels ...string) *redis.PubSub {
	c.subscribes.Add(1)
	return c.Client.Subscribe(ctx, channels...)
}

// A waiter does not wait out its backoff when the holder's TTL ends first:
// an expiry publishes nothing.
func TestLockWaiterRetriesWhenTheHoldersTTLEnds(t *testing.T) {
	b := testbackend.Real(t) // miniredis's clock stands still
	ctx := context.Background()
	const key = "lock-test:{ttl-cap}"
	holder := mustNew(t, b.Client, key, &Options{TTL: 200 * time.Millisecond})
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	waiter := mustNew(t, b.Client, key, &Options{Retry: LinearRetry(time.Minute)})
	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := waiter.Acquire(actx); err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("waiter acquired after %v; the holder's TTL was 200ms", d)
	}
}

// An error while acquiring, after the script ran, must not leave the lock
// held by a token nobody knows.
func TestLockAcquireReleasesAfterALostReply(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		const key = "lock-test:{lost-reply}"
		lost := errors.New("connection reset (simulated)")
		if err := acquireScript.Load(ctx, b.Client); err != nil {
			t.Fatal(err)
		}
		b.Client.AddHook(failAfterSending{name: "evalsha", sha: acquireScript.SHA(), err: lost})

		l := mustNew(t, b.Client, key, nil)
		if err := l.Acquire(ctx); !errors.Is(err, lost) || errors.Is(err, ErrNotAcquired) {
			t.Fatalf("Acquire: got %v, want the connection error", err)
		}
		if n := b.Client.Exists(ctx, key).Val(); n != 0 {
			t.Errorf("the lock key exists after a failed Acquire: the attempt's lock was not released")
		}
		if got := b.Client.Get(ctx, keyspace.Derive("lock-test:{lost-reply}", keyspace.KindFence)).Val(); got != "1" {
			t.Errorf("fence = %q, want 1: the script did run", got)
		}
	})
}

// A resent attempt (go-redis retries a command whose connection broke)
// finds its own token, keeps the fence it was given and sets the full TTL
// again, even when the key's TTL was shortened meanwhile.
func TestLockAcquireScriptIsIdempotentForOneToken(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		keys := []string{"lock-test:{resend}", keyspace.Derive("lock-test:{resend}", keyspace.KindFence)}
		for i := range 2 {
			if i == 1 {
				if err := b.Client.PExpire(ctx, keys[0], time.Second).Err(); err != nil {
					t.Fatal(err)
				}
			}
			got, err := acquireScript.Run(ctx, b.Client, keys, "tok", "60000").Slice()
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != "[1 1]" {
				t.Errorf("attempt %d replied %v, want [1 1]", i+1, got)
			}
		}
		if ms := b.Client.PTTL(ctx, keys[0]).Val().Milliseconds(); ms <= 59000 || ms > 60000 {
			t.Errorf("PTTL after the resent attempt = %dms, want the full 60000ms again (it was cut to 1000ms)", ms)
		}
		got, err := acquireScript.Run(ctx, b.Client, keys, "other", "60000").Slice()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != int64(0) || got[1].(int64) <= 0 || got[1].(int64) > 60000 {
			t.Errorf("another token's attempt replied %v, want [0 pttl]", got)
		}
	})
}

// One Lock is one holder, safe to use from several goroutines.
func TestLockConcurrentCallsOnOneLock(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		l := mustNew(t, b.Client, "lock-test:{shared}", nil)
		var wg sync.WaitGroup
		var acquired, already atomic.Int32
		for range 8 {
			wg.Go(func() {
				switch ok, err := l.TryAcquire(ctx); {
				case ok:
					acquired.Add(1)
				case errors.Is(err, ErrAlreadyHeld):
					already.Add(1)
				default:
					t.Errorf("TryAcquire: %v, %v", ok, err)
				}
				_ = l.Token()
				_ = l.Fence()
				_, _ = l.TTL(ctx)
			})
		}
		wg.Wait()
		if acquired.Load() != 1 || already.Load() != 7 {
			t.Errorf("acquired %d, ErrAlreadyHeld %d; want 1 and 7", acquired.Load(), already.Load())
		}
		var released atomic.Int32
		for range 4 {
			wg.Go(func() {
				if l.Release(ctx) == nil {
					released.Add(1)
				}
			})
		}
		wg.Wait()
		if released.Load() != 1 {
			t.Errorf("%d Releases succeeded, want 1", released.Load())
		}
	})
}

// Goroutines with a non-atomic read-modify-write under the lock must not
// lose an update, and fences must increase with each acquisition.
func TestLockMutualExclusion(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		b := testbackend.Real(t)
		testMutualExclusion(t, b.Client, "lock-test:{mutex}", nil, 16, 200)
	})
	t.Run("cluster", func(t *testing.T) {
		testMutualExclusion(t, testbackend.SharedCluster(t), uniqueKey("lock-test:mutex:"), nil, 8, 50)
	})
}

// testMutualExclusion has workers goroutines, each with its own Lock made
// with opts, increment a counter `each` times with GET and SET under the
// lock, and checks the count and the fences (all 0 with NoFence).
func testMutualExclusion(t *testing.T, c redis.UniversalClient, key string, opts *Options, workers, each int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	counter := keyspace.Derive(key, "test-counter")
	var (
		wg sync.WaitGroup
		// fences are appended while holding the distributed lock, so in
		// the order of acquisitions; mu is only for the race detector,
		// which cannot see a hand-off through Redis.
		mu     sync.Mutex
		fences []int64
	)
	for range workers {
		l := mustNew(t, c, key, opts)
		wg.Go(func() {
			for range each {
				if err := l.Acquire(ctx); err != nil {
					t.Errorf("Acquire: %v", err)
					return
				}
				n, err := c.Get(ctx, counter).Int()
				if err != nil && !errors.Is(err, redis.Nil) {
					t.Errorf("GET: %v", err)
				}
				mu.Lock()
				fences = append(fences, l.Fence())
				mu.Unlock()
				if err := c.Set(ctx, counter, n+1, 0).Err(); err != nil {
					t.Errorf("SET: %v", err)
				}
				if err := l.Release(ctx); err != nil {
					t.Errorf("Release: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	want := workers * each
	if got, err := c.Get(ctx, counter).Int(); got != want {
		t.Errorf("counter = %d (%v), want %d", got, err, want)
	}
	if len(fences) != want {
		t.Fatalf("recorded %d fences, want %d", len(fences), want)
	}
	if opts != nil && opts.NoFence {
		for i, f := range fences {
			if f != 0 {
				t.Fatalf("fence %d is %d without fencing, want 0", i, f)
			}
		}
		return
	}
	for i := 1; i < len(fences); i++ {
		if fences[i] <= fences[i-1] {
			t.Fatalf("fence %d is %d after %d: not strictly increasing", i, fences[i], fences[i-1])
		}
	}
	if fences[len(fences)-1]-fences[0] != int64(want-1) {
		t.Errorf("fences run from %d to %d over %d acquisitions", fences[0], fences[len(fences)-1], want)
	}
	t.Logf("%d goroutines x %d acquisitions: counter %d, fences %d..%d", workers, each, want, fences[0], fences[len(fences)-1])
}

func TestLockOnCluster(t *testing.T) {
	c := testbackend.SharedCluster(t)
	ctx := context.Background()
	for _, key := range []string{uniqueKey("lock-test:{c1}:"), uniqueKey("lock-test-plain-")} {
		t.Run(key, func(t *testing.T) {
			l := mustNew(t, c, key, nil)
			for _, derived := range []string{l.fenceKey, l.channel} {
				if redislua.Slot(derived) != redislua.Slot(key) {
					t.Errorf("%q is in slot %d, %q in %d", derived, redislua.Slot(derived), key, redislua.Slot(key))
				}
			}
			if err := l.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			if got := c.Get(ctx, l.fenceKey).Val(); got != "1" {
				t.Errorf("fence key %q holds %q, want 1", l.fenceKey, got)
			}
			if ttl, err := l.TTL(ctx); err != nil || ttl <= 0 {
				t.Errorf("TTL = %v, %v", ttl, err)
			}
			if err := l.Refresh(ctx, time.Minute); err != nil {
				t.Errorf("Refresh: %v", err)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
			testHandOff(t, c, key, nil)
		})
	}
}

// On a Ring, the channel must live on the lock key's shard, where the
// release script publishes: the hash tag of its derived name sees to that.
func TestLockOnRing(t *testing.T) {
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{
		"a": miniredis.RunT(t).Addr(),
		"b": miniredis.RunT(t).Addr(),
		"c": miniredis.RunT(t).Addr(),
	}})
	t.Cleanup(func() { _ = ring.Close() })
	for i := range 4 {
		key := "lock-test-ring-" + strconv.Itoa(i)
		if i%2 == 1 {
			key = "lock-test:{ring-" + strconv.Itoa(i) + "}"
		}
		t.Run(key, func(t *testing.T) { testHandOff(t, ring, key, nil) })
	}
}

// A key whose TTL something outside the Lock removed is neither a
// duration nor a loss: TTL says so with ErrNoExpiry, and a Refresh sets a
// TTL again. A waiter meanwhile polls with its backoff: the holder's PTTL
// of -1 caps nothing.
func TestLockTTLAfterPersist(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	const key = "lock-test:{persist}"
	l := mustNew(t, b.Client, key, nil)
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Client.Persist(ctx, key).Result(); !ok || err != nil {
		t.Fatalf("PERSIST = %v, %v", ok, err)
	}
	ttl, err := l.TTL(ctx)
	if !errors.Is(err, ErrNoExpiry) || errors.Is(err, ErrNotHeld) || ttl != 0 {
		t.Errorf("TTL after PERSIST = %v, %v; want 0 and ErrNoExpiry", ttl, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := mustNew(t, b.Client, key, &Options{Retry: LinearRetry(10 * time.Millisecond)}).Acquire(wctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiter's Acquire on a key without TTL: got %v, want its deadline", err)
	}
	if err := l.Refresh(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if ttl, err := l.TTL(ctx); err != nil || ttl <= 0 || ttl > DefaultTTL {
		t.Errorf("TTL after Refresh = %v, %v; want in (0, %v]", ttl, err, DefaultTTL)
	}
	select {
	case <-l.Lost():
		t.Error("Lost() closed: a key without TTL is not a loss")
	default:
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// A TTL set from outside beyond what a time.Duration holds (PEXPIREAT
// 2^62 ms, in about 146 million years) is the largest Duration, not a
// negative one.
func TestLockTTLBeyondADuration(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	const key = "lock-test:{ttl-far}"
	l := mustNew(t, b.Client, key, nil)
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Client.PExpireAt(ctx, key, time.UnixMilli(1<<62)).Err(); err != nil {
		t.Fatal(err)
	}
	if ttl, err := l.TTL(ctx); err != nil || ttl != math.MaxInt64 {
		t.Errorf("TTL = %v, %v; want %v", ttl, err, time.Duration(math.MaxInt64))
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// Fences pass 2^53, where a Lua number (a double) can no longer hold every
// integer, strictly increasing and exact.
func TestLockFencesAreExactAbove2To53(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		const key = "lock-test:{fence-2-53}"
		const seed int64 = 1<<53 - 2
		l := mustNew(t, b.Client, key, nil)
		if err := b.Client.Set(ctx, l.fenceKey, seed, 0).Err(); err != nil {
			t.Fatal(err)
		}
		for i := int64(1); i <= 4; i++ {
			if err := l.Acquire(ctx); err != nil {
				t.Fatalf("acquisition %d: %v", i, err)
			}
			if got, want := l.Fence(), seed+i; got != want {
				t.Errorf("acquisition %d: Fence() = %d, want %d", i, got, want)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := b.Client.Get(ctx, l.fenceKey).Val(), strconv.FormatInt(seed+4, 10); got != want {
			t.Errorf("fence counter holds %s, want %s", got, want)
		}

		// A resent attempt (its first reply lost) reads the counter back,
		// exactly too.
		keys := []string{key, l.fenceKey}
		for i := range 2 {
			ok, fence, err := l.attempt(ctx, "resent-token")
			if err != nil || !ok {
				t.Fatalf("attempt %d: %v, %v", i+1, ok, err)
			}
			if want := seed + 5; fence != want {
				t.Errorf("attempt %d with one token: fence %d, want %d", i+1, fence, want)
			}
		}
		if err := releaseScript.Run(ctx, b.Client, keys[:1], "resent-token", l.channel).Err(); err != nil {
			t.Fatal(err)
		}
	})
}

// A counter written below -2^53 (a Lua number cannot hold every integer
// there either) still issues exact, strictly increasing fences.
func TestLockFencesAreExactBelowMinus2To53(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		l := mustNew(t, b.Client, "lock-test:{fence-negative}", nil)
		const seed int64 = math.MinInt64
		if err := b.Client.Set(ctx, l.fenceKey, seed, 0).Err(); err != nil {
			t.Fatal(err)
		}
		for i := int64(1); i <= 3; i++ {
			if err := l.Acquire(ctx); err != nil {
				t.Fatalf("acquisition %d: %v", i, err)
			}
			if got, want := l.Fence(), seed+i; got != want {
				t.Errorf("acquisition %d: Fence() = %d, want %d", i, got, want)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// A fence counter that cannot issue a larger fence refuses the
// acquisition with a typed error, and the script undoes it: the lock key
// is not left behind, and the Lock holds nothing.
func TestLockRefusesAFenceCounterThatCannotIncrease(t *testing.T) {
	cases := []struct {
		name  string
		seed  func(ctx context.Context, b testbackend.Backend, fenceKey string) error
		want  []error
		after string // what the counter must still hold; "" for a list
	}{
		{
			name: "at the largest int64",
			seed: func(ctx context.Context, b testbackend.Backend, k string) error {
				return b.Client.Set(ctx, k, int64(math.MaxInt64), 0).Err()
			},
			want: []error{ErrFenceExhausted}, after: strconv.FormatInt(math.MaxInt64, 10),
		},
		{
			name: "not an integer",
			seed: func(ctx context.Context, b testbackend.Backend, k string) error {
				return b.Client.Set(ctx, k, "abc", 0).Err()
			},
			want: []error{ErrNotInteger}, after: "abc",
		},
		{
			name: "a list",
			seed: func(ctx context.Context, b testbackend.Backend, k string) error {
				return b.Client.RPush(ctx, k, "1").Err()
			},
			want: []error{ErrNotInteger, redislua.ErrWrongType},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
				ctx := context.Background()
				const key = "lock-test:{fence-refused}"
				l := mustNew(t, b.Client, key, nil)
				if err := tc.seed(ctx, b, l.fenceKey); err != nil {
					t.Fatal(err)
				}
				check := func(call string, err error) {
					t.Helper()
					for _, want := range tc.want {
						if !errors.Is(err, want) {
							t.Errorf("%s: got %v, want an error matching %v", call, err, want)
						}
					}
					if errors.Is(err, ErrNotAcquired) {
						t.Errorf("%s: %v matches ErrNotAcquired; the counter is at fault, not contention", call, err)
					}
					if n := b.Client.Exists(ctx, key).Val(); n != 0 {
						t.Errorf("%s: the lock key exists after a refused acquisition", call)
					}
					if tok := l.Token(); tok != "" {
						t.Errorf("%s: the Lock holds token %q after a refused acquisition", call, tok)
					}
				}
				// The script itself undoes the SET: no release follows attempt.
				ok, _, err := l.attempt(ctx, "tok")
				if ok {
					t.Error("attempt: got true")
				}
				check("one attempt", err)
				actx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				check("Acquire", l.Acquire(actx))
				ok, err = l.TryAcquire(ctx)
				if ok {
					t.Error("TryAcquire: got true")
				}
				check("TryAcquire", err)
				if tc.after != "" {
					if got := b.Client.Get(ctx, l.fenceKey).Val(); got != tc.after {
						t.Errorf("fence counter holds %q, want %q unchanged", got, tc.after)
					}
				}
			})
		})
	}
}

// The largest fence is issued, once.
func TestLockIssuesTheLargestFenceOnce(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		l := mustNew(t, b.Client, "lock-test:{fence-max}", nil)
		if err := b.Client.Set(ctx, l.fenceKey, int64(math.MaxInt64-1), 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := l.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		if got := l.Fence(); got != math.MaxInt64 {
			t.Errorf("Fence() = %d, want %d", got, int64(math.MaxInt64))
		}
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.Acquire(ctx); !errors.Is(err, ErrFenceExhausted) {
			t.Errorf("next Acquire: got %v, want ErrFenceExhausted", err)
		}
	})
}

// Without fencing, a lock creates and reads no fence key: nothing is left
// in Redis after Release, and Fence is 0.
func TestLockNoFenceKeepsNoFenceKey(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		const key = "lock-test:{nofence}"
		l := mustNew(t, b.Client, key, &Options{NoFence: true})
		for i := range 3 {
			if err := l.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			if f := l.Fence(); f != 0 {
				t.Errorf("acquisition %d: Fence() = %d, want 0", i+1, f)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := b.Client.DBSize(ctx).Result(); err != nil || n != 0 {
			keys, _ := b.Client.Keys(ctx, "*").Result()
			t.Errorf("DBSIZE after three acquisitions and releases = %d (%v), want 0: keys %q", n, err, keys)
		}
		// A fenced lock on the same key still counts from 1.
		fenced := mustNew(t, b.Client, key, nil)
		if err := fenced.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		if f := fenced.Fence(); f != 1 {
			t.Errorf("fenced lock after unfenced ones: Fence() = %d, want 1", f)
		}
		// And the two kinds exclude each other.
		if ok, err := l.TryAcquire(ctx); ok || err != nil {
			t.Errorf("unfenced TryAcquire while the fenced lock holds the key = %v, %v; want false, nil", ok, err)
		}
	})
}

// A resent attempt (its first reply lost) finds its own token and holds
// the lock again with a fresh TTL, as with the fenced script; another
// token is refused with the lock's PTTL.
func TestLockNoFenceAcquireScriptIsIdempotentForOneToken(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		keys := []string{"lock-test:{nofence-resend}"}
		for i, ttl := range []string{"30000", "60000"} {
			got, err := acquireUnfencedScript.Run(ctx, b.Client, keys, "tok", ttl).Slice()
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != "[1 0]" {
				t.Errorf("attempt %d replied %v, want [1 0]", i+1, got)
			}
		}
		if ms := b.Client.PTTL(ctx, keys[0]).Val().Milliseconds(); ms <= 30000 || ms > 60000 {
			t.Errorf("PTTL after the resent attempt = %dms, want the resent attempt's 60000ms", ms)
		}
		got, err := acquireUnfencedScript.Run(ctx, b.Client, keys, "other", "60000").Slice()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != int64(0) || got[1].(int64) <= 30000 || got[1].(int64) > 60000 {
			t.Errorf("another token's attempt replied %v, want [0 pttl]", got)
		}
		if v := b.Client.Get(ctx, keys[0]).Val(); v != "tok" {
			t.Errorf("lock holds %q after another token's attempt, want tok", v)
		}
	})
}

// An error while acquiring, after the script ran, must not leave the lock
// held by a token nobody knows.
func TestLockNoFenceAcquireReleasesAfterALostReply(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		const key = "lock-test:{nofence-lost-reply}"
		lost := errors.New("connection reset (simulated)")
		if err := acquireUnfencedScript.Load(ctx, b.Client); err != nil {
			t.Fatal(err)
		}
		b.Client.AddHook(failAfterSending{name: "evalsha", sha: acquireUnfencedScript.SHA(), err: lost})
		l := mustNew(t, b.Client, key, &Options{NoFence: true})
		if err := l.Acquire(ctx); !errors.Is(err, lost) || errors.Is(err, ErrNotAcquired) {
			t.Fatalf("Acquire: got %v, want the connection error", err)
		}
		if n := b.Client.Exists(ctx, key).Val(); n != 0 {
			t.Errorf("the lock key exists after a failed Acquire: the attempt's lock was not released")
		}
	})
}

// Mutual exclusion and the hand-off by PUBLISH do not depend on fences.
// On real Redis: the hand-off counts subscribers, and the goroutines
// contend for real.
func TestLockNoFenceMutualExclusionAndHandOff(t *testing.T) {
	b := testbackend.Real(t)
	opts := &Options{NoFence: true}
	t.Run("mutex", func(t *testing.T) {
		testMutualExclusion(t, b.Client, "lock-test:{nofence-mutex}", opts, 16, 200)
	})
	t.Run("handoff", func(t *testing.T) {
		testHandOff(t, b.Client, "lock-test:{nofence-handoff}", opts)
	})
	if n, err := b.Client.Exists(context.Background(), keyspace.Derive("lock-test:{nofence-mutex}", keyspace.KindFence), keyspace.Derive("lock-test:{nofence-handoff}", keyspace.KindFence)).Result(); err != nil || n != 0 {
		t.Errorf("EXISTS of the fence keys = %d, %v; want 0", n, err)
	}
}

// A Release that fails before reaching Redis leaves the key held; the Lock
// keeps the token, so Release again, or Acquire, releases it instead of
// leaving it to its TTL.
func TestLockReleaseAfterAnError(t *testing.T) {
	refused := errors.New("connection refused (simulated)")
	setup := func(t *testing.T, b testbackend.Backend, key string) *Lock {
		ctx := context.Background()
		if err := releaseScript.Load(ctx, b.Client); err != nil {
			t.Fatal(err)
		}
		hook := &scriptFault{sha: releaseScript.SHA(), err: refused}
		b.Client.AddHook(hook)
		l := mustNew(t, b.Client, key, nil)
		if err := l.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		hook.remaining.Store(1)
		if err := l.Release(ctx); !errors.Is(err, refused) || errors.Is(err, ErrNotHeld) {
			t.Fatalf("Release: %v, want the connection error", err)
		}
		if n := b.Client.Exists(ctx, key).Val(); n != 1 {
			t.Fatalf("the key is gone though the release never reached Redis")
		}
		return l
	}
	t.Run("release again", func(t *testing.T) {
		testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
			ctx := context.Background()
			const key = "lock-test:{release-again}"
			l := setup(t, b, key)
			if err := l.Release(ctx); err != nil {
				t.Fatalf("second Release: %v", err)
			}
			if n := b.Client.Exists(ctx, key).Val(); n != 0 {
				t.Fatal("the key is still held after the second Release")
			}
			if err := l.Release(ctx); !errors.Is(err, ErrNotHeld) {
				t.Fatalf("third Release: %v, want ErrNotHeld", err)
			}
		})
	})
	t.Run("acquire again", func(t *testing.T) {
		testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
			ctx := context.Background()
			const key = "lock-test:{acquire-again}"
			l := setup(t, b, key)
			old := l.Token()
			ok, err := l.TryAcquire(ctx)
			if err != nil || !ok {
				t.Fatalf("TryAcquire after the failed Release = %v, %v; want the lock at once", ok, err)
			}
			if got := b.Client.Get(ctx, key).Val(); got == old || got != l.Token() {
				t.Fatalf("key holds %q, want the new token %q (old %q)", got, l.Token(), old)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("acquire while releasing still fails", func(t *testing.T) {
		// The release Acquire sends first fails as well: its attempts find
		// the key held by the Lock's own earlier token, and each sends
		// the release again, rather than waiting for that token's TTL.
		testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			const key = "lock-test:{acquire-release-fails}"
			if err := releaseScript.Load(ctx, b.Client); err != nil {
				t.Fatal(err)
			}
			hook := &scriptFault{sha: releaseScript.SHA(), err: refused}
			b.Client.AddHook(hook)
			l := mustNew(t, b.Client, key, &Options{Retry: LinearRetry(10 * time.Millisecond)})
			if err := l.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			hook.remaining.Store(2) // Release, then the release Acquire sends first
			if err := l.Release(ctx); !errors.Is(err, refused) {
				t.Fatalf("Release: %v, want the connection error", err)
			}
			start := time.Now()
			if err := l.Acquire(ctx); err != nil {
				t.Fatalf("Acquire: %v, want the lock once a release gets through", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("Acquire took %v, want well under the %v TTL of the unreleased token", d, DefaultTTL)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("release reached Redis", func(t *testing.T) {
		// The release ran but its reply was lost: Release again finds
		// the key gone and says so.
		testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
			ctx := context.Background()
			const key = "lock-test:{release-lost-reply}"
			lost := errors.New("connection reset (simulated)")
			if err := releaseScript.Load(ctx, b.Client); err != nil {
				t.Fatal(err)
			}
			l := mustNew(t, b.Client, key, nil)
			if err := l.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			hook := &scriptFault{sha: releaseScript.SHA(), err: lost, afterSending: true}
			hook.remaining.Store(1)
			b.Client.AddHook(hook)
			if err := l.Release(ctx); !errors.Is(err, lost) {
				t.Fatalf("Release: %v, want the connection error", err)
			}
			if n := b.Client.Exists(ctx, key).Val(); n != 0 {
				t.Fatal("the release ran, yet the key exists")
			}
			if err := l.Release(ctx); !errors.Is(err, ErrNotHeld) || errors.Is(err, lost) {
				t.Fatalf("second Release: %v, want ErrNotHeld", err)
			}
		})
	})
}

// An acquiring attempt that ran but whose reply was lost is released at
// once (see TestLockAcquireReleasesAfterALostReply). When that release
// fails too, the Lock keeps the token as after a failed Release: Release,
// or the next Acquire, sends it again instead of leaving the key held by
// a token nobody will release until its TTL.
func TestLockAbandonedAttemptAfterAFailedRelease(t *testing.T) {
	lost := errors.New("connection reset (simulated)")
	refused := errors.New("connection refused (simulated)")
	setup := func(t *testing.T, b testbackend.Backend, key string) *Lock {
		ctx := context.Background()
		for _, s := range []*redislua.Script{acquireScript, releaseScript} {
			if err := s.Load(ctx, b.Client); err != nil {
				t.Fatal(err)
			}
		}
		acquireFault := &scriptFault{sha: acquireScript.SHA(), err: lost, afterSending: true}
		releaseFault := &scriptFault{sha: releaseScript.SHA(), err: refused}
		acquireFault.remaining.Store(1)
		releaseFault.remaining.Store(1)
		b.Client.AddHook(acquireFault)
		b.Client.AddHook(releaseFault)
		l := mustNew(t, b.Client, key, nil)
		if err := l.Acquire(ctx); !errors.Is(err, lost) {
			t.Fatalf("Acquire: %v, want the connection error", err)
		}
		if n := b.Client.Exists(ctx, key).Val(); n != 1 {
			t.Fatal("the key is gone though its release never reached Redis")
		}
		return l
	}
	t.Run("release", func(t *testing.T) {
		testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
			ctx := context.Background()
			const key = "lock-test:{abandoned-release}"
			l := setup(t, b, key)
			if err := l.Release(ctx); err != nil {
				t.Fatalf("Release after the failed Acquire: %v, want nil: it released the attempt's key", err)
			}
			if n := b.Client.Exists(ctx, key).Val(); n != 0 {
				t.Fatal("the key is still held after Release")
			}
		})
	})
	t.Run("acquire", func(t *testing.T) {
		testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
			ctx := context.Background()
			l := setup(t, b, "lock-test:{abandoned-acquire}")
			ok, err := l.TryAcquire(ctx)
			if err != nil || !ok {
				t.Fatalf("TryAcquire after the failed Acquire = %v, %v; want the lock at once", ok, err)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// A Lock with WaitReplicas holds the key only once a replica has it: with
// the replica paused, Acquire and TryAcquire release the key again and
// return a *redislua.ReplicaError.
func TestLockWaitReplicas(t *testing.T) {
	_, replica, b := replicated(t)
	ctx := context.Background()
	key := "wait-lock:{job}"
	opts := &Options{TTL: 10 * time.Second, WaitReplicas: redislua.Replicas{N: 1, Timeout: 200 * time.Millisecond}}

	l := mustNew(t, b.Client, key, opts)
	if err := l.Acquire(ctx); err != nil {
		t.Fatalf("healthy replica: Acquire = %v", err)
	}
	if got := replica.Client(t).Get(ctx, key).Val(); got != l.Token() {
		t.Errorf("replica holds %q right after Acquire, want the token", got)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}

	replica.Pause(t)
	for name, acquire := range map[string]func(*Lock) error{
		"Acquire": func(l *Lock) error { return l.Acquire(ctx) },
		"TryAcquire": func(l *Lock) error {
			ok, err := l.TryAcquire(ctx)
			if ok {
				t.Error("TryAcquire reported the lock held")
			}
			return err
		},
	} {
		l := mustNew(t, b.Client, key, opts)
		err := acquire(l)
		var re *redislua.ReplicaError
		if !errors.As(err, &re) || re.Acked != 0 || errors.Is(err, ErrNotAcquired) {
			t.Fatalf("%s, replica paused: %v; want a *redislua.ReplicaError 0 of 1, not ErrNotAcquired", name, err)
		}
		if l.Token() != "" || l.Fence() != 0 {
			t.Errorf("%s: the Lock believes it holds the key", name)
		}
		if n := b.Client.Exists(ctx, key).Val(); n != 0 {
			t.Errorf("%s: the lock key is still set on the master: the acquisition was not released", name)
		}
	}
	replica.Resume()
	if err := mustNew(t, b.Client, key, opts).Acquire(ctx); err != nil {
		t.Errorf("replica back: Acquire = %v", err)
	}
}

// WaitReplicas that no acquisition could satisfy are refused by New.
func TestLockWaitReplicasRefusedBeforeSending(t *testing.T) {
	b := testbackend.Real(t)
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": b.Client.Options().Addr}})
	t.Cleanup(func() { _ = ring.Close() })
	cases := []struct {
		name string
		c    Client
		ttl  time.Duration
		r    redislua.Replicas
		want error
	}{
		{"ring", ring, 0, redislua.Replicas{N: 1, Timeout: time.Second}, redislua.ErrWaitUnsupported},
		{"timeout past ReadTimeout", b.Client, 0, redislua.Replicas{N: 1, Timeout: time.Minute}, redislua.ErrInvalidReplicas},
		{"no timeout", b.Client, 0, redislua.Replicas{N: 1}, redislua.ErrInvalidReplicas},
		{"no replica", b.Client, 0, redislua.Replicas{Timeout: time.Second}, redislua.ErrInvalidReplicas},
		{"timeout past the TTL less its margin", b.Client, time.Second, redislua.Replicas{N: 1, Timeout: 990 * time.Millisecond}, redislua.ErrInvalidReplicas},
	}
	for _, tc := range cases {
		l, err := New(tc.c, "wait-lock:bad", &Options{TTL: tc.ttl, WaitReplicas: tc.r})
		if !errors.Is(err, tc.want) || l != nil {
			t.Errorf("%s: New = %v, %v; want no Lock and %v", tc.name, l, err, tc.want)
		}
	}
	if sent := b.Sent.Take(); len(sent) != 0 {
		t.Errorf("sent %v, want nothing", sent)
	}
}

// Locks on distinct keys never share a fence counter, on a server and on
// a cluster.
func TestLockFenceCountersAreNotShared(t *testing.T) {
	clients := testbackend.ServerAndCluster(t)
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for _, p := range testbackend.SharedStatePairs {
				a, b := p[0], p[1]
				clean := func() {
					for _, k := range p {
						if err := c.Del(ctx, k, FenceKey(k)).Err(); err != nil {
							t.Fatal(err)
						}
					}
				}
				clean()
				// a acquired twice gets fences 1 and 2; b then starts at 1.
				for i, want := range []int64{1, 2} {
					if got := acquireFence(t, c, a); got != want {
						t.Errorf("%q: acquisition %d fence = %d, want %d", a, i+1, got, want)
					}
				}
				if got := acquireFence(t, c, b); got != 1 {
					t.Errorf("%q after %q: fence = %d, want 1: they share a fence counter", b, a, got)
				}
				clean()
			}
		})
	}
}

// acquireFence acquires and releases a lock on key and returns its fence.
func acquireFence(t *testing.T, c Client, key string) int64 {
	t.Helper()
	ctx := context.Background()
	l := mustNew(t, c, key, &Options{TTL: 5 * time.Second})
	if err := l.Acquire(ctx); err != nil {
		t.Fatalf("Acquire(%q): %v", key, err)
	}
	fence := l.Fence()
	if err := l.Release(ctx); err != nil {
		t.Fatalf("Release(%q): %v", key, err)
	}
	return fence
}

// An ACL user limited to its key prefix, its channels and scripting uses
// locks on its keys, tagged and untagged; nothing needs the default user.
func TestLockAsACLUser(t *testing.T) {
	srv := redistest.Start(t)
	app := srv.CreateUser(t, "app", "s3cret", appUserRules...)
	ctx := context.Background()
	for _, key := range []string{"app:{job}:lock", "app:job"} { // tagged, and untagged (app:job{app:job}redislua:fence)
		l := mustNew(t, app, key, &Options{TTL: time.Second})
		if err := l.Acquire(ctx); err != nil {
			t.Fatalf("Acquire(%s) as app: %v", key, err)
		}
		if err := l.Release(ctx); err != nil {
			t.Fatalf("Release(%s) as app: %v", key, err)
		}
	}
}

// lockUserRules are the ACL rules docs/lock.md lists as what the lock
// needs, for keys under app:.
var lockUserRules = []string{
	"~app:*", "&app:*", "+evalsha", "+eval", "+evalsha_ro", "+eval_ro",
	"+get", "+set", "+incr", "+del", "+pexpire", "+pttl", "+type",
	"+publish", "+subscribe", "+unsubscribe",
}

// The rules docs/lock.md lists are enough for every call of the lock, a
// hand-off through pub/sub, and a fence counter refused for its type.
func TestLockWithTheDocumentedACLRules(t *testing.T) {
	srv := redistest.Start(t)
	app := srv.CreateUser(t, "app", "s3cret", lockUserRules...)
	admin := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const key = "app:{acl-docs}"
	holder := mustNew(t, app, key, &Options{TTL: 5 * time.Second})
	if err := holder.Acquire(ctx); err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if err := holder.Refresh(ctx, 0); err != nil {
		t.Errorf("Refresh: %v", err)
	}
	if ttl, err := holder.TTL(ctx); err != nil || ttl <= 0 {
		t.Errorf("TTL = %v, %v", ttl, err)
	}
	// A waiter is woken by the release, not by its one-minute retry.
	settled := make(chan struct{})
	waiter := mustNew(t, app, key, &Options{Retry: notifyRetry{LinearRetry(time.Minute), 2, settled}})
	acquired := make(chan error, 1)
	go func() { acquired <- waiter.Acquire(ctx) }()
	select {
	case <-settled:
	case err := <-acquired:
		t.Fatalf("Acquire returned %v while the lock is held", err)
	}
	if err := holder.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := <-acquired; err != nil {
		t.Fatalf("waiter's Acquire: %v", err)
	}
	if err := waiter.Release(ctx); err != nil {
		t.Fatalf("waiter's Release: %v", err)
	}
	// A counter of the wrong type is refused for it, which takes TYPE.
	const listed = "app:{acl-docs-list}"
	if err := admin.RPush(ctx, FenceKey(listed), "1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := mustNew(t, app, listed, nil).Acquire(ctx); !errors.Is(err, ErrNotInteger) || !errors.Is(err, redislua.ErrWrongType) {
		t.Errorf("Acquire on a list counter: %v, want ErrNotInteger and ErrWrongType", err)
	}
}

// Over TLS with client certificates (mutual TLS), locks work, with their
// pub/sub hand-off.
func TestLockOverTLS(t *testing.T) {
	srv := redistest.StartTLS(t, &redistest.TLSOptions{MutualTLS: true})
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, TLSConfig: srv.ClientTLSConfig()})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()

	holder := mustNew(t, c, "tls:{job}", &Options{TTL: 5 * time.Second})
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	holderFence := holder.Fence() // read while held: Fence is 0 after Release
	if holderFence <= 0 {
		t.Fatalf("holder's fence = %d, want > 0", holderFence)
	}
	retry := &signalRetry{RetryStrategy: LinearRetry(10 * time.Second), waiting: make(chan struct{}, 8)}
	waiter := mustNew(t, c, "tls:{job}", &Options{TTL: 5 * time.Second, Retry: retry})
	acquired := make(chan error, 1)
	go func() { acquired <- waiter.Acquire(ctx) }()
	<-retry.waiting // the waiter found the lock held; only the wake-up can beat its 10 s retry
	if err := holder.Release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-acquired:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter was not woken over TLS")
	}
	if got := waiter.Fence(); got != holderFence+1 {
		t.Fatalf("fences %d then %d, want the next one %d", holderFence, got, holderFence+1)
	}
	_ = waiter.Release(ctx)
}

// signalRetry reports each time Acquire asks it how long to wait.
type signalRetry struct {
	RetryStrategy
	waiting chan struct{}
}

func (r *signalRetry) Backoff(attempt int) (time.Duration, bool) {
	select {
	case r.waiting <- struct{}{}:
	default:
	}
	return r.RetryStrategy.Backoff(attempt)
}
