package lock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
)

// pubsubConns returns how many pub/sub connections the servers of c have
// (on a cluster, all of its nodes), counting only those named name unless
// name is "".
func pubsubConns(t *testing.T, c redis.UniversalClient, name string) int {
	t.Helper()
	var total atomic.Int64
	each := func(ctx context.Context, node *redis.Client) error {
		list, err := node.Do(ctx, "CLIENT", "LIST", "TYPE", "pubsub").Text()
		for line := range strings.Lines(list) {
			if name == "" || strings.Contains(line, " name="+name+" ") {
				total.Add(1)
			}
		}
		return err
	}
	ctx := context.Background()
	var err error
	switch c := c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachShard(ctx, each)
	case *redis.Client:
		err = each(ctx, c)
	default:
		t.Fatalf("pubsubConns: unexpected client %T", c)
	}
	if err != nil {
		t.Fatalf("CLIENT LIST TYPE pubsub: %v", err)
	}
	return int(total.Load())
}

// hubOf returns c's registered hub, nil when it has none.
func hubOf(c Client) *hub {
	hubs.Lock()
	defer hubs.Unlock()
	return hubs.m[c]
}

// isSubscribed reports whether w counts as subscribed.
func isSubscribed(w *waiter) bool {
	w.hub.mu.Lock()
	defer w.hub.mu.Unlock()
	return w.subscribed
}

// hookRetry is a RetryStrategy that calls fn with each attempt it is asked
// about.
type hookRetry struct {
	RetryStrategy
	fn func(attempt int)
}

func (r hookRetry) Backoff(attempt int) (time.Duration, bool) {
	r.fn(attempt)
	return r.RetryStrategy.Backoff(attempt)
}

// All the Acquire calls waiting on one client share one pub/sub
// connection, closed when the last has the lock; each gets it once.
func TestLockWaitersShareOneSubscription(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 20})
	t.Cleanup(func() { _ = c.Close() })
	testWaitersShare(t, c, "", []string{"lock-test:{share-a}", "lock-test:{share-b}"}, 25)
}

// On a cluster, the connection is on one node and hears the releases of
// keys on every master: Redis 7 broadcasts PUBLISH over the cluster bus.
func TestLockWaitersShareOneSubscriptionOnCluster(t *testing.T) {
	ctx := context.Background()
	name := uniqueKey("hub-test-")
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: redistest.SharedCluster(t).Addrs(), ClientName: name})
	t.Cleanup(func() { _ = c.Close() })
	var keys []string
	masters := map[string]bool{}
	for i := 0; len(keys) < 3; i++ {
		if i > 1000 {
			t.Fatalf("found keys on %d masters only", len(keys))
		}
		key := uniqueKey(fmt.Sprintf("lock-test:{hub-%d}:", i))
		node, err := c.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if addr := node.Options().Addr; !masters[addr] {
			masters[addr] = true
			keys = append(keys, key)
		}
	}
	testWaitersShare(t, c, name, keys, 10)
}

// testWaitersShare has perKey Acquire calls wait on each key, held by
// another Lock, checks that the server sees one pub/sub connection named
// name (any name if "") while they wait, then releases the keys and checks
// that each waiter gets its lock once, one at a time, woken by releases
// (their backoff is longer than the test), and that the connection is
// closed once none waits.
func testWaitersShare(t *testing.T, c redis.UniversalClient, name string, keys []string, perKey int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var holders []*Lock
	for _, key := range keys {
		l := mustNew(t, c, key, nil)
		if err := l.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		holders = append(holders, l)
	}
	total := len(keys) * perKey
	var (
		settled, acquired atomic.Int32
		wg                sync.WaitGroup
		mu                sync.Mutex // for the race detector: see testMutualExclusion
		fences            = map[string][]int64{}
	)
	// The second attempt comes when the waiter's subscription is confirmed;
	// after it, only a release can wake the waiter before the test ends.
	retry := hookRetry{LinearRetry(time.Minute), func(attempt int) {
		if attempt == 2 {
			settled.Add(1)
		}
	}}
	for _, key := range keys {
		var inside atomic.Int32
		for range perKey {
			l := mustNew(t, c, key, &Options{Retry: retry})
			wg.Go(func() {
				if err := l.Acquire(ctx); err != nil {
					t.Errorf("Acquire(%s): %v", key, err)
					return
				}
				if n := inside.Add(1); n != 1 {
					t.Errorf("%d holders of %s at once", n, key)
				}
				mu.Lock()
				fences[key] = append(fences[key], l.Fence())
				mu.Unlock()
				acquired.Add(1)
				inside.Add(-1)
				if err := l.Release(ctx); err != nil {
					t.Errorf("Release(%s): %v", key, err)
				}
			})
		}
	}
	waitFor(t, 20*time.Second, "every waiter's attempt after its subscription", func() bool {
		return settled.Load() == int32(total)
	})
	if n := pubsubConns(t, c, name); n != 1 {
		t.Errorf("%d pub/sub connections while %d Acquire calls wait on %d keys, want 1", n, total, len(keys))
	}
	for _, l := range holders {
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if got := acquired.Load(); got != int32(total) {
		t.Fatalf("%d of %d waiters acquired", got, total)
	}
	for _, key := range keys {
		f := fences[key]
		slices.Sort(f)
		if len(slices.Compact(f)) != perKey || f[0] <= 1 {
			t.Errorf("fences of %s: %v, want %d distinct ones after the holder's", key, f, perKey)
		}
	}
	waitFor(t, 5*time.Second, "no pub/sub connection once none waits", func() bool {
		return pubsubConns(t, c, name) == 0
	})
	if hubOf(c) != nil {
		t.Error("the client's hub is still registered once none waits")
	}
}

// The trap the counts exist for: a waiter that leaves before its SUBSCRIBE
// is confirmed, then a new waiter on the same channel. The new waiter must
// not take the confirmation of the first SUBSCRIBE for that of its own,
// which comes after the UNSUBSCRIBE sent between them: it would try again
// before it is subscribed, then sleep through a release published in
// between. The hub's goroutine is held on each confirmation to order the
// events.
func TestHubIgnoresTheConfirmationOfAWaiterThatLeft(t *testing.T) {
	b := testbackend.Real(t)
	const channel = "lock-test:{hub-trap}"
	h := newHub(openShared(b.Client))
	received, proceed := make(chan any), make(chan struct{})
	h.beforeRoute = func(item any) {
		received <- item
		<-proceed
	}
	// next waits for the hub to receive a confirmation of kind on ch, which
	// it routes once proceed is sent; it also means that the previous item
	// has been routed.
	next := func(kind, ch string) {
		t.Helper()
		select {
		case item := <-received:
			s, ok := item.(*redis.Subscription)
			if !ok || s.Kind != kind || s.Channel != ch {
				t.Fatalf("received %v, want %s: %s", item, kind, ch)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s confirmation of %s in 5s", kind, ch)
		}
	}
	woken := func(w *waiter) bool {
		select {
		case <-w.wake:
			return true
		case <-time.After(5 * time.Second):
			return false
		}
	}

	keep := h.join("lock-test:{hub-keep}") // keeps the hub open throughout
	next("subscribe", "lock-test:{hub-keep}")
	proceed <- struct{}{}
	if !woken(keep) {
		t.Fatal("a confirmed waiter was not woken")
	}

	first := h.join(channel) // SUBSCRIBE 1
	next("subscribe", channel)
	// Confirmation 1 is in; before it is routed, the waiter leaves and
	// another comes.
	first.leave()             // UNSUBSCRIBE 2
	second := h.join(channel) // SUBSCRIBE 3
	proceed <- struct{}{}
	next("unsubscribe", channel)
	if isSubscribed(second) || len(second.wake) > 0 {
		t.Fatal("the new waiter took the confirmation of the SUBSCRIBE of a waiter that left for its own")
	}
	proceed <- struct{}{}
	next("subscribe", channel)
	if isSubscribed(second) || len(second.wake) > 0 {
		t.Fatal("the new waiter counts as subscribed after the UNSUBSCRIBE's confirmation")
	}
	proceed <- struct{}{}
	if !woken(second) || !isSubscribed(second) {
		t.Fatal("the new waiter was not woken as subscribed by the confirmation of its SUBSCRIBE")
	}

	// It hears the channel.
	if err := b.Client.Publish(context.Background(), channel, "x").Err(); err != nil {
		t.Fatal(err)
	}
	if item := <-received; item.(*redis.Message).Channel != channel {
		t.Fatalf("received %v, want a message on %s", item, channel)
	}
	proceed <- struct{}{}
	if !woken(second) {
		t.Fatal("a message did not wake the waiter")
	}

	second.leave()
	next("unsubscribe", channel)
	proceed <- struct{}{}
	keep.leave() // the last: the connection closes
	waitFor(t, 5*time.Second, "the hub's connection to close", func() bool { return pubsubConns(t, b.Client, "") == 0 })
}

// Waiters on different channels share the connection, and a message on
// one channel wakes only its own waiters.
func TestHubRoutesMessagesByChannel(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	h := newHub(openShared(b.Client))
	x, y, z := h.join("lock-test:{hub-x}"), h.join("lock-test:{hub-y}"), h.join("lock-test:{hub-z}")
	for _, w := range []*waiter{x, y, z} {
		select {
		case <-w.wake:
		case <-time.After(5 * time.Second):
			t.Fatalf("waiter on %s not subscribed after 5s", w.channel)
		}
	}
	if n := pubsubConns(t, b.Client, ""); n != 1 {
		t.Errorf("%d pub/sub connections for waiters on 3 channels, want 1", n)
	}
	// Messages come in the order published: once z's wakes it, x's has
	// been routed.
	for _, ch := range []string{x.channel, z.channel} {
		if err := b.Client.Publish(ctx, ch, "released").Err(); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-z.wake:
	case <-time.After(5 * time.Second):
		t.Fatal("a message on z's channel did not wake z")
	}
	if len(x.wake) != 1 || len(y.wake) != 0 {
		t.Errorf("after a message on x's channel: x woken %d, y woken %d; want 1 and 0", len(x.wake), len(y.wake))
	}
	x.leave()
	y.leave()
	z.leave()
	waitFor(t, 5*time.Second, "the hub's connection to close", func() bool { return pubsubConns(t, b.Client, "") == 0 })
}

// A user whose ACL refuses SUBSCRIBE still acquires, by polling.
func TestLockWaiterPollsWhenSubscribingIsRefused(t *testing.T) {
	srv := redistest.Start(t)
	rules := slices.DeleteFunc(slices.Clone(appUserRules), func(r string) bool { return r == "+subscribe" })
	app := srv.CreateUser(t, "app", "s3cret", rules...)
	admin := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const key = "app:{hub-acl}"
	holder := mustNew(t, app, key, nil)
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	polled := make(chan struct{})
	retry := hookRetry{LinearRetry(20 * time.Millisecond), func(attempt int) {
		if attempt == 5 {
			close(polled)
		}
	}}
	acquired := make(chan error, 1)
	l := mustNew(t, app, key, &Options{Retry: retry})
	go func() { acquired <- l.Acquire(ctx) }()
	select {
	case <-polled:
	case err := <-acquired:
		t.Fatalf("Acquire returned %v while the lock is held", err)
	case <-ctx.Done():
		t.Fatal("the waiter did not poll")
	}
	if n := pubsubConns(t, admin, ""); n != 0 {
		t.Errorf("%d pub/sub connections for a user without +subscribe, want 0", n)
	}
	if err := holder.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-acquired; err != nil {
		t.Fatalf("Acquire without a subscription: %v", err)
	}
	waitFor(t, 5*time.Second, "the client's hub to close", func() bool { return hubOf(app) == nil })
}

// A user whose ACL refuses PUBLISH (Redis 7 gives a new user no channel
// unless told) still releases: the key is deleted and Release returns
// nil, rather than an error for a release that happened; waiters poll.
func TestLockReleasesWhenPublishingIsRefused(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.Client(t)
	for i, drop := range []string{"+publish", "&app:*"} {
		t.Run(drop, func(t *testing.T) {
			rules := slices.DeleteFunc(slices.Clone(appUserRules), func(r string) bool { return r == drop })
			app := srv.CreateUser(t, fmt.Sprintf("app%d", i), "s3cret", rules...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			key := fmt.Sprintf("app:{hub-nopublish-%d}", i)
			holder := mustNew(t, app, key, nil)
			if err := holder.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			acquired := make(chan error, 1)
			l := mustNew(t, app, key, &Options{Retry: LinearRetry(20 * time.Millisecond)})
			go func() {
				if err := l.Acquire(ctx); err != nil {
					acquired <- err
					return
				}
				acquired <- l.Release(ctx)
			}()
			if err := holder.Release(ctx); err != nil {
				t.Errorf("Release: %v, want nil", err)
			}
			if err := <-acquired; err != nil {
				t.Errorf("waiter: %v", err)
			}
			if n := admin.Exists(ctx, key).Val(); n != 0 {
				t.Error("the lock key exists after both released")
			}
		})
	}
}

// When the server kills the hub's connection, go-redis opens another and
// subscribes it again; its confirmations come unasked, and must neither
// crash the hub nor keep its waiters from being woken by releases.
func TestLockWaitersSurviveAKilledSubscription(t *testing.T) {
	b := testbackend.Real(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const key = "lock-test:{hub-killed}"
	holder := mustNew(t, b.Client, key, nil)
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	const waiters = 5
	var settled, acquired atomic.Int32
	retry := hookRetry{LinearRetry(time.Minute), func(attempt int) {
		if attempt == 2 {
			settled.Add(1)
		}
	}}
	var wg sync.WaitGroup
	for range waiters {
		l := mustNew(t, b.Client, key, &Options{Retry: retry})
		wg.Go(func() {
			if err := l.Acquire(ctx); err != nil {
				t.Errorf("Acquire: %v", err)
				return
			}
			acquired.Add(1)
			if err := l.Release(ctx); err != nil {
				t.Errorf("Release: %v", err)
			}
		})
	}
	waitFor(t, 10*time.Second, "every waiter to be subscribed", func() bool { return settled.Load() == waiters })
	admin := redis.NewClient(&redis.Options{Addr: b.Client.Options().Addr})
	t.Cleanup(func() { _ = admin.Close() })
	if n, err := admin.ClientKillByFilter(ctx, "TYPE", "pubsub").Result(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL TYPE pubsub: %d, %v; want 1 killed", n, err)
	}
	waitFor(t, 10*time.Second, "go-redis to subscribe a new connection", func() bool {
		return numSub(t, b.Client, holder.channel) == 1
	})
	if err := holder.Release(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := acquired.Load(); got != waiters {
		t.Fatalf("%d of %d waiters acquired", got, waiters)
	}
	waitFor(t, 5*time.Second, "no pub/sub connection once none waits", func() bool { return pubsubConns(t, b.Client, "") == 0 })
}

// A black-holed pub/sub connection (SUBSCRIBE sent, nothing ever comes
// back) leaves waiters polling; a cancelled one returns at once.
func TestLockWaitersPollWhenTheSubscriptionIsBlackHoled(t *testing.T) {
	srv := redistest.Start(t)
	var muted atomic.Int32
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &muteConn{Conn: conn, count: &muted, closed: make(chan struct{})}, nil
	}})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const key = "lock-test:{hub-blackhole}"
	holder := mustNew(t, c, key, nil)
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	polled := make(chan struct{})
	retry := hookRetry{LinearRetry(20 * time.Millisecond), func(attempt int) {
		if attempt == 5 {
			close(polled)
		}
	}}
	acquired := make(chan error, 1)
	waiter := mustNew(t, c, key, &Options{Retry: retry})
	go func() { acquired <- waiter.Acquire(ctx) }()
	select {
	case <-polled:
	case err := <-acquired:
		t.Fatalf("Acquire returned %v while the lock is held", err)
	case <-ctx.Done():
		t.Fatal("the waiter did not poll")
	}
	if muted.Load() != 1 {
		t.Fatalf("%d connections black-holed, want the hub's", muted.Load())
	}
	h := hubOf(c)
	if h == nil {
		t.Fatal("no hub while a waiter waits")
	}
	h.mu.Lock()
	for w := range h.channels[waiter.channel].waiters {
		if w.subscribed {
			t.Error("a waiter counts as subscribed without a confirmation")
		}
	}
	h.mu.Unlock()

	// Another waiter, cancelled while it waits, returns at once.
	cctx, ccancel := context.WithCancel(ctx)
	second := make(chan error, 1)
	l := mustNew(t, c, key, nil)
	go func() { second <- l.Acquire(cctx) }()
	waitFor(t, 5*time.Second, "the second waiter to join the hub", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.waiters == 2
	})
	start := time.Now()
	ccancel()
	select {
	case err := <-second:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Acquire: %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("cancelled Acquire returned after %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled Acquire still waiting after 5s")
	}

	if err := holder.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-acquired; err != nil {
		t.Fatalf("Acquire by polling: %v", err)
	}
	waitFor(t, 5*time.Second, "the hub to close its connection", func() bool {
		return hubOf(c) == nil && pubsubConns(t, c, "") == 0
	})
}

// muteConn is a connection that stops delivering what the server sends
// once it has sent SUBSCRIBE: a black hole for a pub/sub connection,
// until it is closed.
type muteConn struct {
	net.Conn
	count  *atomic.Int32 // of muted connections
	muted  atomic.Bool
	closed chan struct{}
	once   sync.Once
}

func (c *muteConn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("\r\nsubscribe\r\n")) && !c.muted.Swap(true) {
		c.count.Add(1)
	}
	return c.Conn.Write(p)
}

func (c *muteConn) Read(p []byte) (int, error) {
	if !c.muted.Load() {
		return c.Conn.Read(p)
	}
	<-c.closed
	return 0, net.ErrClosed
}

func (c *muteConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// A waiter's subscription goroutines end with its Acquire: those of the
// client's hub (its own, go-redis's reader and health check) once the
// last waiter leaves, whether alone or among others.
func TestLockWaitingLeavesNoGoroutines(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	const key = "lock-test:{wait-leak}"
	holder := mustNew(t, b.Client, key, nil)
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	returnsToBase := func() bool { return runtime.NumGoroutine() <= base }
	for range 3 {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		err := mustNew(t, b.Client, key, nil).Acquire(dctx)
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
		l := mustNew(t, b.Client, key, nil)
		wg.Go(func() {
			if err := l.Acquire(dctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Acquire: %v", err)
			}
		})
	}
	waitFor(t, 5*time.Second, "a pub/sub connection for 5 waiters", func() bool {
		h := hubOf(b.Client)
		return h != nil && numSub(t, b.Client, holder.channel) == 1
	})
	cancel()
	wg.Wait()
	if h := hubOf(b.Client); h != nil {
		t.Errorf("the hub is registered after its last waiter left")
	}
	waitFor(t, 5*time.Second, "the goroutine count to return to "+strconv.Itoa(base), returnsToBase)
}
