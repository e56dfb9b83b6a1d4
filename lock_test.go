package redislua

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redislua/redislua/internal/keyspace"
)

// waitFor polls cond every few milliseconds until it holds, and fails the
// test if it does not within d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// numSub returns how many clients subscribe to channel: on a cluster, on
// all of its nodes.
func numSub(t *testing.T, c redis.UniversalClient, channel string) int64 {
	t.Helper()
	ctx := context.Background()
	var total atomic.Int64
	each := func(ctx context.Context, node *redis.Client) error {
		n, err := node.PubSubNumSub(ctx, channel).Result()
		total.Add(n[channel])
		return err
	}
	var err error
	switch c := c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachShard(ctx, each)
	case *redis.Ring:
		err = c.ForEachShard(ctx, each)
	case *redis.Client:
		err = each(ctx, c)
	default:
		t.Fatalf("numSub: unexpected client %T", c)
	}
	if err != nil {
		t.Fatalf("PUBSUB NUMSUB: %v", err)
	}
	return total.Load()
}

// uniqueKey returns a key no earlier run used, for the shared cluster,
// where fence counters outlive a test.
func uniqueKey(prefix string) string {
	return prefix + strconv.FormatInt(time.Now().UnixNano(), 36)
}

func TestLockRefusesBadArgumentsBeforeSending(t *testing.T) {
	b := forMiniredis(t)
	var nilClient *redis.Client
	cases := []struct {
		name string
		c    LockClient
		key  string
		opts *LockOptions
		want error
	}{
		{"untyped nil client", nil, "k", nil, ErrNilClient},
		{"typed nil client", nilClient, "k", nil, ErrNilClient},
		{"empty key", b.client, "", nil, ErrEmptyKey},
		{"sub-millisecond TTL", b.client, "k", &LockOptions{TTL: 500 * time.Microsecond}, ErrInvalidTTL},
		// Its margin is 2ms: the deadline would come as the TTL is set.
		{"TTL used up by its margin", b.client, "k", &LockOptions{TTL: 2*time.Millisecond + 900*time.Microsecond}, ErrInvalidTTL},
		{"negative TTL", b.client, "k", &LockOptions{TTL: -time.Second}, ErrInvalidTTL},
		{"refresh interval as long as TTL", b.client, "k", &LockOptions{TTL: time.Second, AutoRefresh: true, RefreshInterval: time.Second}, ErrInvalidTTL},
		// TTL less the margin is 988ms: a refresh sent after 990ms cannot
		// land before the deadline.
		{"refresh interval past the deadline", b.client, "k", &LockOptions{TTL: time.Second, AutoRefresh: true, RefreshInterval: 990 * time.Millisecond}, ErrInvalidTTL},
		{"negative refresh interval", b.client, "k", &LockOptions{AutoRefresh: true, RefreshInterval: -1}, ErrInvalidTTL},
		{"sub-millisecond refresh interval", b.client, "k", &LockOptions{AutoRefresh: true, RefreshInterval: time.Microsecond}, ErrInvalidTTL},
		{"reserved key (another lock's fence counter)", b.client, "job{job}redislua:fence", nil, ErrReservedKey},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLock(tc.c, tc.key, tc.opts)
			calls := map[string]error{
				"Acquire": l.Acquire(ctx),
				"Release": l.Release(ctx),
				"Refresh": l.Refresh(ctx, 0),
			}
			_, calls["TryAcquire"] = l.TryAcquire(ctx)
			_, calls["TTL"] = l.TTL(ctx)
			for call, err := range calls {
				if !errors.Is(err, tc.want) {
					t.Errorf("%s: got %v, want %v", call, err, tc.want)
				}
				if errors.Is(err, ErrNotAcquired) {
					t.Errorf("%s: %v matches ErrNotAcquired; a bad argument is not contention", call, err)
				}
			}
			if sent := b.sent.Take(); len(sent) != 0 {
				t.Errorf("sent %v, want nothing", sent)
			}
		})
	}
}

// A zero Lock (not made by NewLock) has no client: every call says so,
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
		if !errors.Is(err, ErrNilClient) {
			t.Errorf("%s on a zero Lock: got %v, want ErrNilClient", call, err)
		}
	}
}

func TestLockRefusesBadCallsBeforeSending(t *testing.T) {
	b := forMiniredis(t)
	ctx := context.Background()
	l := NewLock(b.client, "lock-test:calls", nil)
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
	if sent := b.sent.Take(); len(sent) != 0 {
		t.Errorf("sent %v, want nothing", sent)
	}
}

func TestLockLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const key = "lock-test:{life}"
		a := NewLock(b.client, key, &LockOptions{TTL: 10 * time.Second})
		other := NewLock(b.client, key, nil)

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
		if got := b.client.Get(ctx, key).Val(); got != tok {
			t.Errorf("lock key holds %q, want the token %q", got, tok)
		}
		if got := a.Fence(); got != 1 {
			t.Errorf("first Fence = %d, want 1", got)
		}
		if got := b.client.Get(ctx, keyspace.Derive("lock-test:{life}", kindFence)).Val(); got != "1" {
			t.Errorf("fence key holds %q, want 1", got)
		}
		if ttl, err := b.client.PTTL(ctx, keyspace.Derive("lock-test:{life}", kindFence)).Result(); err != nil || ttl != -1 {
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
		if n := b.client.Exists(ctx, key).Val(); n != 0 {
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
	b := forMiniredis(t)
	ctx := context.Background()
	l := NewLock(b.client, "lock-test-plain", nil)
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.client.Get(ctx, "lock-test-plain{lock-test-plain}redislua:fence").Val(); got != "1" {
		t.Errorf("fence key lock-test-plain{lock-test-plain}redislua:fence holds %q, want 1", got)
	}
	if want := "lock-test-plain{lock-test-plain}redislua:released"; l.channel != want {
		t.Errorf("channel = %q, want %q", l.channel, want)
	}
}

// An expired holder must not release or extend the lock of the holder that
// came after it.
func TestLockExpiredHolderCannotTouchTheNextHoldersLock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const key = "lock-test:{expired}"
		var lostErrs []error
		old := NewLock(b.client, key, &LockOptions{OnLost: func(err error) { lostErrs = append(lostErrs, err) }})
		if err := old.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		if b.real {
			// Let it expire for real: a 1ms TTL, then wait until the key is gone.
			if err := b.client.PExpire(ctx, key, time.Millisecond).Err(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "the lock key to expire", func() bool {
				return b.client.Exists(ctx, key).Val() == 0
			})
		} else {
			// miniredis's clock stands still: expire it by deleting it.
			b.client.Del(ctx, key)
		}

		next := NewLock(b.client, key, nil)
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
		if got := b.client.Get(ctx, key).Val(); got != next.Token() {
			t.Errorf("lock key holds %q after the expired holder's calls, want the new holder's token %q", got, next.Token())
		}
		if ttl := b.client.PTTL(ctx, key).Val(); ttl > DefaultLockTTL {
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
	forEachBackend(t, func(t *testing.T, b backend) {
		testHandOff(t, b.client, "lock-test:{handoff}", nil)
	})
}

// testHandOff hands key over from a holder to a waiter, both made with
// opts (nil, or a NoFence option) and a 30s TTL, so that only the release
// can end the wait.
func testHandOff(t *testing.T, c redis.UniversalClient, key string, opts *LockOptions) {
	ctx := context.Background()
	var o LockOptions
	if opts != nil {
		o = *opts
	}
	holder := NewLock(c, key, &o)
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	// The waiter's second attempt comes right after its subscription is
	// confirmed; once it failed, the waiter settles into a 5s wait.
	settled := make(chan struct{})
	o.Retry = notifyRetry{LinearRetry(5 * time.Second), 2, settled}
	waiter := NewLock(c, key, &o)
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
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const key = "lock-test:{deadline}"
		holder := NewLock(b.client, key, nil)
		if err := holder.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		waiter := NewLock(b.client, key, &LockOptions{Retry: LinearRetry(10 * time.Millisecond)})

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
		if got := b.client.Get(ctx, key).Val(); got != holder.Token() {
			t.Errorf("lock key holds %q, want the holder's token", got)
		}
	})
}

func TestLockRetryStrategyLimitsAttempts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const key = "lock-test:{limit}"
		holder := NewLock(b.client, key, nil)
		if err := holder.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		c := &countingClient{Client: b.client}
		b.sent.Take()

		err := NewLock(c, key, &LockOptions{Retry: NoRetry()}).Acquire(ctx)
		if !errors.Is(err, ErrNotAcquired) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Acquire with NoRetry: got %v, want ErrNotAcquired alone", err)
		}
		if n := count(b.sent.Take(), "evalsha"); n != 1 || c.subscribes.Load() != 0 {
			t.Errorf("NoRetry made %d attempts and %d subscriptions, want 1 and 0", n, c.subscribes.Load())
		}

		err = NewLock(c, key, &LockOptions{Retry: LimitRetry(LinearRetry(time.Millisecond), 3)}).Acquire(ctx)
		if !errors.Is(err, ErrNotAcquired) {
			t.Errorf("Acquire with LimitRetry: got %v, want ErrNotAcquired", err)
		}
		// The waiter's subscription is opened by its hub's goroutine, which
		// may not get to it within the three 1ms waits.
		if n := count(b.sent.Take(), "evalsha"); n != 4 || c.subscribes.Load() > 1 {
			t.Errorf("LimitRetry(_, 3) made %d attempts and %d subscriptions, want 4 and at most 1", n, c.subscribes.Load())
		}
	})
}

// countingClient is a LockClient that counts its subscriptions.
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
	b := realRedis(t) // miniredis's clock stands still
	ctx := context.Background()
	const key = "lock-test:{ttl-cap}"
	holder := NewLock(b.client, key, &LockOptions{TTL: 200 * time.Millisecond})
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	waiter := NewLock(b.client, key, &LockOptions{Retry: LinearRetry(time.Minute)})
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
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const key = "lock-test:{lost-reply}"
		lost := errors.New("connection reset (simulated)")
		if err := lockAcquire.Load(ctx, b.client); err != nil {
			t.Fatal(err)
		}
		b.client.AddHook(failAfterSending{name: "evalsha", sha: lockAcquire.SHA(), err: lost})

		l := NewLock(b.client, key, nil)
		if err := l.Acquire(ctx); !errors.Is(err, lost) || errors.Is(err, ErrNotAcquired) {
			t.Fatalf("Acquire: got %v, want the connection error", err)
		}
		if n := b.client.Exists(ctx, key).Val(); n != 0 {
			t.Errorf("the lock key exists after a failed Acquire: the attempt's lock was not released")
		}
		if got := b.client.Get(ctx, keyspace.Derive("lock-test:{lost-reply}", kindFence)).Val(); got != "1" {
			t.Errorf("fence = %q, want 1: the script did run", got)
		}
	})
}

// failAfterSending is a hook that lets a command whose first argument is
// name and second sha run, then reports err instead of its reply, as a
// connection lost after sending would.
type failAfterSending struct {
	name, sha string
	err       error
}

func (failAfterSending) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h failAfterSending) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if args := cmd.Args(); err == nil && len(args) > 1 && cmd.Name() == h.name && args[1] == h.sha {
			cmd.SetErr(h.err)
			return h.err
		}
		return err
	}
}

func (failAfterSending) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// A resent attempt (go-redis retries a command whose connection broke)
// finds its own token, keeps the fence it was given and sets the full TTL
// again, even when the key's TTL was shortened meanwhile.
func TestLockAcquireScriptIsIdempotentForOneToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		keys := []string{"lock-test:{resend}", keyspace.Derive("lock-test:{resend}", kindFence)}
		for i := range 2 {
			if i == 1 {
				if err := b.client.PExpire(ctx, keys[0], time.Second).Err(); err != nil {
					t.Fatal(err)
				}
			}
			got, err := lockAcquire.Run(ctx, b.client, keys, "tok", "60000").Slice()
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != "[1 1]" {
				t.Errorf("attempt %d replied %v, want [1 1]", i+1, got)
			}
		}
		if ms := b.client.PTTL(ctx, keys[0]).Val().Milliseconds(); ms <= 59000 || ms > 60000 {
			t.Errorf("PTTL after the resent attempt = %dms, want the full 60000ms again (it was cut to 1000ms)", ms)
		}
		got, err := lockAcquire.Run(ctx, b.client, keys, "other", "60000").Slice()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != int64(0) || got[1].(int64) <= 0 || got[1].(int64) > 60000 {
			t.Errorf("another token's attempt replied %v, want [0 pttl]", got)
		}
	})
}

// The watchdog keeps the key alive past its TTL, and reports it lost when
// it is deleted. Refreshes come every 50ms for a 600ms TTL: only a stall
// of over half a second between two of them could lose the lock.
func TestLockWatchdogKeepsTheLockAlive(t *testing.T) {
	b := realRedis(t) // needs real expiry
	ctx := context.Background()
	const key = "lock-test:{watchdog}"
	const ttl = 600 * time.Millisecond
	lostErrs := make(chan error, 2)
	l := NewLock(b.client, key, &LockOptions{TTL: ttl, AutoRefresh: true, RefreshInterval: 50 * time.Millisecond, OnLost: func(err error) { lostErrs <- err }})
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	tok := l.Token()
	// For over three TTLs, the key must never be missing.
	for start := time.Now(); time.Since(start) < 3*ttl+100*time.Millisecond; time.Sleep(10 * time.Millisecond) {
		if got := b.client.Get(ctx, key).Val(); got != tok {
			t.Fatalf("after %v of a %v TTL the lock key holds %q, want the token", time.Since(start), ttl, got)
		}
	}
	select {
	case <-l.Lost():
		t.Fatal("Lost() closed while the lock is held")
	default:
	}

	// Deleted behind its back: the watchdog must report it.
	b.client.Del(ctx, key)
	select {
	case <-l.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("Lost() not closed 5s after the lock key was deleted")
	}
	select {
	case err := <-lostErrs:
		if !errors.Is(err, ErrNotHeld) {
			t.Errorf("OnLost got %v, want ErrNotHeld", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnLost not called")
	}
	if err := l.Release(ctx); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Release of a lost lock: got %v, want ErrNotHeld", err)
	}
	if len(lostErrs) != 0 {
		t.Errorf("OnLost called again: %v", <-lostErrs)
	}
}

func TestLockWatchdogStopsOnRelease(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	b.client.Ping(ctx) // open the pool's connection before counting goroutines
	base := runtime.NumGoroutine()

	const interval = 50 * time.Millisecond
	if err := lockRelease.Load(ctx, b.client); err != nil { // no NOSCRIPT round trip in the count
		t.Fatal(err)
	}
	l := NewLock(b.client, "lock-test:{wd-stop}", &LockOptions{TTL: 3 * interval, AutoRefresh: true})
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	h := l.last
	waitFor(t, 5*time.Second, "a refresh", func() bool { return count(b.sent.Take(), "evalsha") > 0 })
	if err := l.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
	select {
	case <-h.done:
	default:
		t.Fatal("watchdog still running after Release returned")
	}
	select {
	case <-l.Lost():
		t.Error("Lost() closed by a clean Release")
	default:
	}
	// Three refresh intervals: a running watchdog would have sent two or
	// three. A refresh started as Release was called may still be sent
	// (Release does not wait for one in flight): one at most.
	time.Sleep(3 * interval)
	if sent := b.sent.Take(); len(sent) > 2 {
		t.Errorf("sent %v from Release on, want the release and at most one refresh", sent)
	}
	time.Sleep(3 * interval)
	if sent := b.sent.Take(); len(sent) != 0 {
		t.Errorf("sent %v long after Release, want nothing", sent)
	}
	waitFor(t, 5*time.Second, "the goroutine count to return to "+strconv.Itoa(base), func() bool {
		return runtime.NumGoroutine() <= base
	})
}

// A waiter's subscription goroutines end with its Acquire: those of the
// client's hub (its own, go-redis's reader and health check) once the
// last waiter leaves, whether alone or among others.
func TestLockWaitingLeavesNoGoroutines(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	const key = "lock-test:{wait-leak}"
	holder := NewLock(b.client, key, nil)
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	returnsToBase := func() bool { return runtime.NumGoroutine() <= base }
	for range 3 {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		err := NewLock(b.client, key, nil).Acquire(dctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire: %v", err)
		}
	}
	waitFor(t, 5*time.Second, "the goroutine count to return to "+strconv.Itoa(base), returnsToBase)

	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if err := NewLock(b.client, key, nil).Acquire(dctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Acquire: %v", err)
			}
		})
	}
	waitFor(t, 5*time.Second, "a pub/sub connection for 5 waiters", func() bool {
		h := hubOf(b.client)
		return h != nil && numSub(t, b.client, holder.channel) == 1
	})
	cancel()
	wg.Wait()
	if h := hubOf(b.client); h != nil {
		t.Errorf("the hub is registered after its last waiter left")
	}
	waitFor(t, 5*time.Second, "the goroutine count to return to "+strconv.Itoa(base), returnsToBase)
}

// One Lock is one holder, safe to use from several goroutines.
func TestLockConcurrentCallsOnOneLock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l := NewLock(b.client, "lock-test:{shared}", nil)
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
		b := realRedis(t)
		testMutualExclusion(t, b.client, "lock-test:{mutex}", nil, 16, 200)
	})
	t.Run("cluster", func(t *testing.T) {
		testMutualExclusion(t, sharedCluster(t), uniqueKey("lock-test:mutex:"), nil, 8, 50)
	})
}

// testMutualExclusion has workers goroutines, each with its own Lock made
// with opts, increment a counter `each` times with GET and SET under the
// lock, and checks the count and the fences (all 0 with NoFence).
func testMutualExclusion(t *testing.T, c redis.UniversalClient, key string, opts *LockOptions, workers, each int) {
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
		wg.Go(func() {
			l := NewLock(c, key, opts)
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
	c := sharedCluster(t)
	ctx := context.Background()
	for _, key := range []string{uniqueKey("lock-test:{c1}:"), uniqueKey("lock-test-plain-")} {
		t.Run(key, func(t *testing.T) {
			l := NewLock(c, key, nil)
			for _, derived := range []string{l.fenceKey, l.channel} {
				if Slot(derived) != Slot(key) {
					t.Errorf("%q is in slot %d, %q in %d", derived, Slot(derived), key, Slot(key))
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
// release script publishes: sameSlotKey's hash tag sees to that.
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

func TestRetryStrategies(t *testing.T) {
	if d, ok := NoRetry().Backoff(1); ok {
		t.Errorf("NoRetry().Backoff(1) = %v, true; want false", d)
	}
	if d, ok := LinearRetry(0).Backoff(7); !ok || d != time.Millisecond {
		t.Errorf("LinearRetry(0).Backoff(7) = %v, %v; want 1ms, true", d, ok)
	}
	if d, ok := LinearRetry(time.Second).Backoff(1000); !ok || d != time.Second {
		t.Errorf("LinearRetry(1s).Backoff(1000) = %v, %v; want 1s, true", d, ok)
	}
	exp := ExponentialRetry(10*time.Millisecond, 100*time.Millisecond)
	for _, tc := range []struct {
		attempt int
		ceiling time.Duration
	}{{1, 10 * time.Millisecond}, {2, 20 * time.Millisecond}, {4, 80 * time.Millisecond}, {5, 100 * time.Millisecond}, {1 << 30, 100 * time.Millisecond}} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d, ok := exp.Backoff(tc.attempt)
			if !ok || d < tc.ceiling/2 || d > tc.ceiling {
				t.Fatalf("Backoff(%d) = %v, %v; want in [%v, %v]", tc.attempt, d, ok, tc.ceiling/2, tc.ceiling)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("Backoff(%d) took only %d values in 200 calls: no jitter", tc.attempt, len(seen))
		}
	}
	if d, _ := ExponentialRetry(-1, -1).Backoff(3); d < 0 || d > time.Millisecond {
		t.Errorf("ExponentialRetry(-1, -1).Backoff(3) = %v, want at most 1ms", d)
	}
	// Doubling a wait above half the largest Duration would overflow it.
	huge := ExponentialRetry(math.MaxInt64/2+1, math.MaxInt64)
	for attempt := 1; attempt <= 3; attempt++ {
		if d, ok := huge.Backoff(attempt); !ok || d < math.MaxInt64/4 {
			t.Errorf("ExponentialRetry(MaxInt64/2+1, MaxInt64).Backoff(%d) = %v, %v; want at least MaxInt64/4", attempt, d, ok)
		}
	}
	limited := LimitRetry(LinearRetry(time.Second), 2)
	for attempt, want := range []bool{1: true, 2: true, 3: false, 4: false} {
		if attempt == 0 {
			continue
		}
		if _, ok := limited.Backoff(attempt); ok != want {
			t.Errorf("LimitRetry(_, 2).Backoff(%d) retries = %v, want %v", attempt, ok, want)
		}
	}
	if _, ok := LimitRetry(nil, -1).Backoff(1); ok {
		t.Error("LimitRetry(nil, -1) retries")
	}
}

// A key whose TTL something outside the Lock removed is neither a
// duration nor a loss: TTL says so with ErrNoExpiry, and a Refresh sets a
// TTL again. A waiter meanwhile polls with its backoff: the holder's PTTL
// of -1 caps nothing.
func TestLockTTLAfterPersist(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	const key = "lock-test:{persist}"
	l := NewLock(b.client, key, nil)
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.client.Persist(ctx, key).Result(); !ok || err != nil {
		t.Fatalf("PERSIST = %v, %v", ok, err)
	}
	ttl, err := l.TTL(ctx)
	if !errors.Is(err, ErrNoExpiry) || errors.Is(err, ErrNotHeld) || ttl != 0 {
		t.Errorf("TTL after PERSIST = %v, %v; want 0 and ErrNoExpiry", ttl, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := NewLock(b.client, key, &LockOptions{Retry: LinearRetry(10 * time.Millisecond)}).Acquire(wctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiter's Acquire on a key without TTL: got %v, want its deadline", err)
	}
	if err := l.Refresh(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if ttl, err := l.TTL(ctx); err != nil || ttl <= 0 || ttl > DefaultLockTTL {
		t.Errorf("TTL after Refresh = %v, %v; want in (0, %v]", ttl, err, DefaultLockTTL)
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
	b := realRedis(t)
	ctx := context.Background()
	const key = "lock-test:{ttl-far}"
	l := NewLock(b.client, key, nil)
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.client.PExpireAt(ctx, key, time.UnixMilli(1<<62)).Err(); err != nil {
		t.Fatal(err)
	}
	if ttl, err := l.TTL(ctx); err != nil || ttl != math.MaxInt64 {
		t.Errorf("TTL = %v, %v; want %v", ttl, err, time.Duration(math.MaxInt64))
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
}
