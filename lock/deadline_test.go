package lock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
)

// lostRecorder records when a Lock reported its acquisition lost, and
// with what error.
type lostRecorder struct {
	mu  sync.Mutex
	at  time.Time
	err error
	n   int
}

func (r *lostRecorder) onLost(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if r.n == 1 {
		r.at, r.err = time.Now(), err
	}
}

// get returns when OnLost was first called, with what, and how many
// times. Lost closes just before OnLost is called, so it waits up to 5s
// for a first call.
func (r *lostRecorder) get() (time.Time, error, int) {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		r.mu.Lock()
		at, err, n := r.at, r.err, r.n
		r.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			return at, err, n
		}
	}
}

// refreshSpy is a hook that records when the last refresh that succeeded
// was sent, and black-holes the holder's connection right after the
// first success, if swallow is set.
type refreshSpy struct {
	swallow func()

	mu       sync.Mutex
	okSent   time.Time // start of the last refresh that returned 1
	okDone   time.Time // when its reply came
	okCount  int
	attempts int
}

func (*refreshSpy) DialHook(next redis.DialHook) redis.DialHook { return next }

func (s *refreshSpy) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if len(args) < 2 || cmd.Name() != "evalsha" || args[1] != refreshScript.SHA() {
			return next(ctx, cmd)
		}
		start := time.Now()
		s.mu.Lock()
		s.attempts++
		s.mu.Unlock()
		err := next(ctx, cmd)
		if c, ok := cmd.(interface{ Int64() (int64, error) }); ok && err == nil {
			if n, _ := c.Int64(); n == 1 {
				s.mu.Lock()
				s.okSent, s.okDone = start, time.Now()
				s.okCount++
				first := s.okCount == 1
				s.mu.Unlock()
				if first && s.swallow != nil {
					s.swallow()
				}
			}
		}
		return err
	}
}

func (*refreshSpy) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (s *refreshSpy) lastOK() (sent, done time.Time, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.okSent, s.okDone, s.okCount
}

// A holder whose connection goes silent must learn that it lost the lock
// before anyone else can take it: Lost and OnLost fire from a local timer
// by the start of the last successful refresh plus the TTL (less a margin),
// whatever the client's timeouts, while the refresh call still hangs. The
// holder talks to Redis through a proxy that starts swallowing everything
// right after its first successful refresh; a second client, connected
// directly, waits for the lock.
func TestLockLostFiresBeforeAnotherHolderCanAcquire(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts redis.Options
	}{
		{"default options", redis.Options{}},
		{"ContextTimeoutEnabled", redis.Options{ContextTimeoutEnabled: true}},
		{"no read timeout", redis.Options{ReadTimeout: -1}},
		{"one connection", redis.Options{PoolSize: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const ttl = 1500 * time.Millisecond
			ctx := context.Background()
			srv := redistest.Start(t)
			direct := redis.NewClient(&redis.Options{Addr: srv.Addr})
			t.Cleanup(func() { _ = direct.Close() })
			if err := refreshScript.Load(ctx, direct); err != nil {
				t.Fatal(err)
			}
			proxy := newBlackHole(t, srv.Addr)
			o := tc.opts
			o.Addr = proxy.Addr()
			via := redis.NewClient(&o)
			t.Cleanup(func() { _ = via.Close() })
			spy := &refreshSpy{swallow: proxy.Swallow}
			via.AddHook(spy)

			const key = "lock-test:{blackhole}"
			var lost lostRecorder
			holder := mustNew(t, via, key, &Options{TTL: ttl, AutoRefresh: true, OnLost: lost.onLost})
			if err := holder.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			lostClosed := make(chan time.Time, 1)
			go func() {
				<-holder.Lost()
				lostClosed <- time.Now()
			}()

			// The second client waits for the lock; its wait is capped by
			// the holder's remaining TTL, so it tries again as the key expires.
			waiter := mustNew(t, direct, key, &Options{Retry: LinearRetry(5 * time.Millisecond)})
			wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			if err := waiter.Acquire(wctx); err != nil {
				t.Fatalf("second client's Acquire: %v", err)
			}
			acquired := time.Now()
			defer waiter.Release(ctx)

			var closedAt time.Time
			select {
			case closedAt = <-lostClosed:
			case <-time.After(15 * time.Second):
				t.Fatalf("Lost() not closed 15s after the second client acquired")
			}
			lostAt, lostErr, calls := lost.get()
			okSent, okDone, n := spy.lastOK()
			if n != 1 {
				t.Fatalf("%d successful refreshes, want 1: the proxy swallows everything after the first", n)
			}
			t.Logf("last successful refresh sent at 0; OnLost at +%v, Lost closed at +%v; second client acquired at +%v",
				lostAt.Sub(okSent).Round(time.Millisecond), closedAt.Sub(okSent).Round(time.Millisecond),
				acquired.Sub(okSent).Round(time.Millisecond))

			if calls != 1 || !errors.Is(lostErr, ErrNotHeld) {
				t.Errorf("OnLost called %d times, first with %v; want once with ErrNotHeld", calls, lostErr)
			}
			if !closedAt.Before(acquired) {
				t.Errorf("Lost() closed %v after the second client acquired the lock", closedAt.Sub(acquired))
			}
			// The key lives until at least okSent+ttl on the server's clock:
			// OnLost must come before, and after the refresh it counts from.
			if limit := okSent.Add(ttl); lostAt.After(limit) {
				t.Errorf("OnLost fired %v after the last successful refresh was sent, past the %v TTL", lostAt.Sub(okSent), ttl)
			}
			if lostAt.Before(okDone) {
				t.Errorf("OnLost fired before the last successful refresh returned")
			}
			if lostAt.Sub(okSent) < ttl/2 {
				t.Errorf("OnLost fired %v after the last successful refresh, want close to the %v TTL", lostAt.Sub(okSent), ttl)
			}
		})
	}
}

// A server paused past the TTL (a hung host) answers nothing, while its
// clock runs on: when it resumes, the key has expired and another client
// takes it at once. Lost must be closed by then, whatever the holder's
// client options.
func TestLockLostWhileTheServerIsPaused(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts redis.Options
	}{
		{"default options", redis.Options{}},
		{"no read timeout", redis.Options{ReadTimeout: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const ttl = time.Second
			ctx := context.Background()
			srv := redistest.Start(t)
			o := tc.opts
			o.Addr = srv.Addr
			holderClient := redis.NewClient(&o)
			t.Cleanup(func() { _ = holderClient.Close() })
			direct := redis.NewClient(&redis.Options{Addr: srv.Addr})
			t.Cleanup(func() { _ = direct.Close() })

			const key = "lock-test:{paused}"
			var lost lostRecorder
			holder := mustNew(t, holderClient, key, &Options{TTL: ttl, AutoRefresh: true, OnLost: lost.onLost})
			if err := holder.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			srv.Pause(t)
			time.Sleep(ttl + 500*time.Millisecond)
			srv.Resume()
			ok, err := mustNew(t, direct, key, nil).TryAcquire(ctx)
			if !ok || err != nil {
				t.Fatalf("second client's TryAcquire after the pause = %v, %v; want the expired lock", ok, err)
			}
			select {
			case <-holder.Lost():
			default:
				t.Error("Lost() still open when the second client took the lock")
			}
			if _, lostErr, calls := lost.get(); calls != 1 || !errors.Is(lostErr, ErrNotHeld) {
				t.Errorf("OnLost called %d times, first with %v; want once with ErrNotHeld", calls, lostErr)
			}
		})
	}
}

// OnLost may call Release, which on a silent connection blocks until the
// client's timeouts end it: that must not keep Lost open past the point
// where another client can take the key.
func TestLockLostIsNotDelayedByOnLost(t *testing.T) {
	const ttl = 2 * time.Second // a margin of 22ms
	ctx := context.Background()
	srv := redistest.Start(t)
	direct := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = direct.Close() })
	proxy := newBlackHole(t, srv.Addr)
	via := redis.NewClient(&redis.Options{Addr: proxy.Addr()}) // default timeouts
	t.Cleanup(func() { _ = via.Close() })

	const key = "lock-test:{slow-onlost}"
	var holder *Lock
	onLostDone := make(chan error, 1)
	holder = mustNew(t, via, key, &Options{TTL: ttl, OnLost: func(error) {
		onLostDone <- holder.Release(context.Background())
	}})
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.Swallow()

	waiter := mustNew(t, direct, key, &Options{Retry: LinearRetry(5 * time.Millisecond)})
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := waiter.Acquire(wctx); err != nil {
		t.Fatalf("second client's Acquire: %v", err)
	}
	select {
	case <-holder.Lost():
	default:
		t.Error("Lost() still open when the second client acquired the lock, behind OnLost's Release")
	}
	proxy.Close() // ends OnLost's Release
	select {
	case err := <-onLostDone:
		if err == nil {
			t.Error("Release over a black-holed connection returned nil")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("OnLost still running 15s after the proxy closed")
	}
}

// Without AutoRefresh nothing refreshes the key, but the deadline's timer
// still reports the acquisition lost before the key can expire and
// another client take it. A Refresh moves the deadline to its own start
// plus the TTL it set.
func TestLockLostWithoutAutoRefresh(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	const (
		key    = "lock-test:{no-watchdog}"
		ttl    = 600 * time.Millisecond
		longer = 1200 * time.Millisecond
	)
	var lost lostRecorder
	holder := mustNew(t, b.Client, key, &Options{TTL: ttl, OnLost: lost.onLost})
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(ttl / 2) // hold it for a while, then extend it
	refreshStart := time.Now()
	if err := holder.Refresh(ctx, longer); err != nil {
		t.Fatal(err)
	}
	refreshDone := time.Now()

	waiter := mustNew(t, b.Client, key, &Options{Retry: LinearRetry(5 * time.Millisecond)})
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := waiter.Acquire(wctx); err != nil {
		t.Fatalf("second client's Acquire: %v", err)
	}
	acquired := time.Now()
	defer waiter.Release(ctx)
	select {
	case <-holder.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("Lost() not closed 5s after the second client acquired the lock")
	}
	lostAt, lostErr, calls := lost.get()
	t.Logf("Refresh(%v) sent at 0: OnLost at +%v, second client acquired at +%v",
		longer, lostAt.Sub(refreshStart).Round(time.Millisecond), acquired.Sub(refreshStart).Round(time.Millisecond))
	if calls != 1 || !errors.Is(lostErr, ErrNotHeld) {
		t.Errorf("OnLost called %d times, first with %v; want once with ErrNotHeld", calls, lostErr)
	}
	if !lostAt.Before(acquired) {
		t.Errorf("OnLost fired %v after the second client acquired the lock", lostAt.Sub(acquired))
	}
	// The deadline counts from a start at or after refreshStart: timers do
	// not fire early. The key lives until refreshDone+longer at least.
	if early := refreshStart.Add(longer - expiryMargin(longer)); lostAt.Before(early) {
		t.Errorf("OnLost fired %v after Refresh(%v) started: the Refresh did not move the deadline", lostAt.Sub(refreshStart), longer)
	}
	if lostAt.After(refreshDone.Add(longer)) {
		t.Errorf("OnLost fired %v after Refresh(%v) returned, past its TTL", lostAt.Sub(refreshDone), longer)
	}
	if err := holder.Release(ctx); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Release after the loss: got %v, want ErrNotHeld", err)
	}
	if got := b.Client.Get(ctx, key).Val(); got != waiter.Token() {
		t.Errorf("lock key holds %q after the lost holder's Release, want the second client's token", got)
	}
}

// holdReply is a hook that lets each refresh run on the server, then
// holds its reply until gate is closed, ignoring the context, as a client
// waiting on a connection that went silent after sending does.
type holdReply struct {
	gate chan struct{}
	ran  atomic.Int32
}

func (*holdReply) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *holdReply) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if len(args) < 2 || cmd.Name() != "evalsha" || args[1] != refreshScript.SHA() {
			return next(ctx, cmd)
		}
		err := next(ctx, cmd)
		h.ran.Add(1)
		<-h.gate
		return err
	}
}

func (*holdReply) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// A refresh whose reply does not come cannot hold the watchdog past the
// deadline, nor Release after the loss; and a refresh that completes
// after the loss was reported changes nothing.
func TestLockStuckRefreshDoesNotDelayLossOrRelease(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	const (
		key = "lock-test:{stuck-refresh}"
		ttl = 600 * time.Millisecond // refreshed every 200ms
	)
	if err := refreshScript.Load(ctx, b.Client); err != nil {
		t.Fatal(err)
	}
	hook := &holdReply{gate: make(chan struct{})}
	b.Client.AddHook(hook)
	open := sync.OnceFunc(func() { close(hook.gate) })
	t.Cleanup(open)

	var lost lostRecorder
	holder := mustNew(t, b.Client, key, &Options{TTL: ttl, AutoRefresh: true, OnLost: lost.onLost})
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	acquired := time.Now()
	select {
	case <-holder.Lost():
	case <-time.After(3 * time.Second):
		t.Fatalf("Lost() not closed 3s after acquiring a %v lock whose refreshes get no reply", ttl)
	}
	lostAt, lostErr, _ := lost.get()
	t.Logf("acquired at 0, OnLost at +%v, %d refreshes ran on the server", lostAt.Sub(acquired).Round(time.Millisecond), hook.ran.Load())
	if lostAt.After(acquired.Add(ttl)) {
		t.Errorf("OnLost fired %v after Acquire returned, past the %v TTL", lostAt.Sub(acquired), ttl)
	}
	if !errors.Is(lostErr, ErrNotHeld) {
		t.Errorf("OnLost got %v, want ErrNotHeld", lostErr)
	}
	if hook.ran.Load() == 0 {
		t.Fatal("no refresh ran")
	}
	// The refreshes did run: the key still holds the token, past the TTL
	// the holder counts on. Refresh and TTL say it is lost, without I/O.
	if got := b.Client.Get(ctx, key).Val(); got != holder.Token() {
		t.Fatalf("lock key holds %q, want the holder's token: the refreshes ran", got)
	}
	b.Sent.Take()
	if err := holder.Refresh(ctx, 0); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Refresh after the loss: got %v, want ErrNotHeld", err)
	}
	if _, err := holder.TTL(ctx); !errors.Is(err, ErrNotHeld) {
		t.Errorf("TTL after the loss: got %v, want ErrNotHeld", err)
	}
	if sent := b.Sent.Take(); len(sent) != 0 {
		t.Errorf("Refresh and TTL after the loss sent %v, want nothing", sent)
	}

	// Release does not wait for the refreshes still waiting for replies,
	// and deletes the key, which still holds the token.
	released := make(chan error, 1)
	go func() { released <- holder.Release(ctx) }()
	select {
	case err := <-released:
		if !errors.Is(err, ErrNotHeld) {
			t.Errorf("Release after the loss: got %v, want ErrNotHeld", err)
		}
	case <-time.After(3 * time.Second):
		open()
		t.Fatal("Release still waiting 3s after the loss, behind a refresh with no reply")
	}
	if n := b.Client.Exists(ctx, key).Val(); n != 0 {
		t.Errorf("the lock key exists after Release")
	}

	// The replies come now: nothing changes.
	open()
	if n := b.Client.Exists(ctx, key).Val(); n != 0 {
		t.Errorf("the lock key exists after the late replies")
	}
	if _, _, calls := lost.get(); calls != 1 {
		t.Errorf("OnLost called %d times, want once", calls)
	}
}

// lateAcquireReply is a hook that lets the first acquire attempt run on
// the server, then holds its reply for delay, as a slow network does. It
// closes ran when that attempt has run.
type lateAcquireReply struct {
	delay time.Duration
	ran   chan struct{}
	once  sync.Once
}

func (*lateAcquireReply) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *lateAcquireReply) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		args := cmd.Args()
		if err == nil && len(args) >= 2 && cmd.Name() == "evalsha" && args[1] == acquireScript.SHA() {
			h.once.Do(func() {
				close(h.ran)
				time.Sleep(h.delay)
			})
		}
		return err
	}
}

func (*lateAcquireReply) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// An acquisition whose reply comes after its deadline (the start of the
// attempt plus the TTL, less the margin) may have expired, and another
// client taken the key, before the holder hears of it: Acquire must not
// return it as held, but release it and go on waiting, and TryAcquire
// must report false.
func TestLockAcquireDoesNotCountAReplyPastItsDeadline(t *testing.T) {
	b := testbackend.Real(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const ttl = 500 * time.Millisecond
	if err := acquireScript.Load(ctx, b.Client); err != nil { // no NOSCRIPT
		t.Fatal(err)
	}
	slowClient := func() (*redis.Client, *lateAcquireReply) {
		c := redis.NewClient(&redis.Options{Addr: b.Client.Options().Addr})
		t.Cleanup(func() { _ = c.Close() })
		hook := &lateAcquireReply{delay: 2 * ttl, ran: make(chan struct{})}
		c.AddHook(hook)
		return c, hook
	}

	t.Run("Acquire", func(t *testing.T) {
		const key = "lock-test:{late-reply}"
		c, hook := slowClient()
		late := mustNew(t, c, key, &Options{TTL: ttl, Retry: LinearRetry(5 * time.Millisecond)})
		done := make(chan error, 1)
		go func() { done <- late.Acquire(ctx) }()
		<-hook.ran
		// The late attempt's key expires while its reply is held: another
		// client takes the lock, and keeps it past the late reply.
		other := mustNew(t, b.Client, key, &Options{Retry: LinearRetry(5 * time.Millisecond)})
		if err := other.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("Acquire returned %v while another client holds the lock, after a reply that came %v after its %v TTL began", err, hook.delay, ttl)
		case <-time.After(hook.delay + 200*time.Millisecond): // the late reply came meanwhile
		}
		if err := other.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("Acquire after the other client released: %v", err)
		}
		if got := b.Client.Get(ctx, key).Val(); got != late.Token() {
			t.Errorf("lock key holds %q, want the token of the Lock that acquired it", got)
		}
		_ = late.Release(ctx)
	})

	t.Run("TryAcquire", func(t *testing.T) {
		c, _ := slowClient()
		late := mustNew(t, c, "lock-test:{late-reply-try}", &Options{TTL: ttl})
		ok, err := late.TryAcquire(ctx)
		if ok || err != nil {
			t.Errorf("TryAcquire with a reply past the deadline: got %v, %v; want false, nil", ok, err)
		}
		if tok := late.Token(); tok != "" {
			t.Errorf("the Lock holds token %q", tok)
		}
	})
}

// The watchdog keeps the key alive past its TTL, and reports it lost when
// it is deleted. Refreshes come every 50ms for a 600ms TTL: only a stall
// of over half a second between two of them could lose the lock.
func TestLockWatchdogKeepsTheLockAlive(t *testing.T) {
	b := testbackend.Real(t) // needs real expiry
	ctx := context.Background()
	const key = "lock-test:{watchdog}"
	const ttl = 600 * time.Millisecond
	lostErrs := make(chan error, 2)
	l := mustNew(t, b.Client, key, &Options{TTL: ttl, AutoRefresh: true, RefreshInterval: 50 * time.Millisecond, OnLost: func(err error) { lostErrs <- err }})
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	tok := l.Token()
	// For over three TTLs, the key must never be missing.
	for start := time.Now(); time.Since(start) < 3*ttl+100*time.Millisecond; time.Sleep(10 * time.Millisecond) {
		if got := b.Client.Get(ctx, key).Val(); got != tok {
			t.Fatalf("after %v of a %v TTL the lock key holds %q, want the token", time.Since(start), ttl, got)
		}
	}
	select {
	case <-l.Lost():
		t.Fatal("Lost() closed while the lock is held")
	default:
	}

	// Deleted behind its back: the watchdog must report it.
	b.Client.Del(ctx, key)
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
	b := testbackend.Real(t)
	ctx := context.Background()
	b.Client.Ping(ctx) // open the pool's connection before counting goroutines
	base := runtime.NumGoroutine()

	const interval = 50 * time.Millisecond
	if err := releaseScript.Load(ctx, b.Client); err != nil { // no NOSCRIPT round trip in the count
		t.Fatal(err)
	}
	l := mustNew(t, b.Client, "lock-test:{wd-stop}", &Options{TTL: 3 * interval, AutoRefresh: true})
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	h := l.last
	waitFor(t, 5*time.Second, "a refresh", func() bool { return testbackend.Count(b.Sent.Take(), "evalsha") > 0 })
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
	if sent := b.Sent.Take(); len(sent) > 2 {
		t.Errorf("sent %v from Release on, want the release and at most one refresh", sent)
	}
	time.Sleep(3 * interval)
	if sent := b.Sent.Take(); len(sent) != 0 {
		t.Errorf("sent %v long after Release, want nothing", sent)
	}
	waitFor(t, 5*time.Second, "the goroutine count to return to "+strconv.Itoa(base), func() bool {
		return runtime.NumGoroutine() <= base
	})
}

// A refresh that fails (here: a lost connection, before the script
// reached Redis) does not make the watchdog give the lock up: the next
// tick refreshes it, and the lock stays held. The TTL is far longer than
// the ticks, so only a watchdog that counts one failure as a loss fails
// this, however slow the machine.
func TestLockWatchdogKeepsTheLockAfterOneFailedRefresh(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	const key = "lock-test:{wd-one-failure}"
	if err := refreshScript.Load(ctx, b.Client); err != nil {
		t.Fatal(err)
	}
	spy := &refreshSpy{}
	b.Client.AddHook(spy) // outside the fault: it sees the failure
	fault := &scriptFault{sha: refreshScript.SHA(), err: io.EOF}
	fault.remaining.Store(1)
	b.Client.AddHook(fault)
	lost := &lostRecorder{}
	l := mustNew(t, b.Client, key, &Options{TTL: time.Minute, AutoRefresh: true, RefreshInterval: 20 * time.Millisecond, OnLost: lost.onLost})
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "two refreshes to succeed after the failed one, or a loss", func() bool {
		select {
		case <-l.Lost():
			return true
		default:
		}
		_, _, n := spy.lastOK()
		return n >= 2
	})
	if fault.remaining.Load() > 0 {
		t.Fatal("the first refresh did not fail")
	}
	select {
	case <-l.Lost():
		_, err, _ := lost.get()
		t.Fatalf("Lost() closed after one failed refresh: %v", err)
	default:
	}
	if got := b.Client.Get(ctx, key).Val(); got != l.Token() || got == "" {
		t.Errorf("the lock key holds %q, want the token %q", got, l.Token())
	}
	if err := l.Release(ctx); err != nil {
		t.Errorf("Release after a failed and two good refreshes: %v, want nil", err)
	}
	lost.mu.Lock()
	defer lost.mu.Unlock()
	if lost.n != 0 {
		t.Errorf("OnLost called with %v", lost.err)
	}
}

// Refreshes that keep failing with a transient error make the watchdog
// try again at each tick, and the loss is reported once the deadline
// passes (the acquiring attempt's start plus the TTL, less the margin):
// not before, at the first failure, and not never, as it would be if a
// failed refresh moved the deadline. The error says why the refreshes
// failed. The TTL is 50 ticks, so that only a stall of a second could
// end the lock another way.
func TestLockWatchdogReportsFailingRefreshesAtTheDeadline(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	const (
		key      = "lock-test:{wd-failing}"
		ttl      = time.Second
		interval = 20 * time.Millisecond
	)
	if err := refreshScript.Load(ctx, b.Client); err != nil {
		t.Fatal(err)
	}
	spy := &refreshSpy{}
	b.Client.AddHook(spy)
	fault := &scriptFault{sha: refreshScript.SHA(), err: io.EOF}
	fault.remaining.Store(1 << 30)
	b.Client.AddHook(fault)
	lost := &lostRecorder{}
	l := mustNew(t, b.Client, key, &Options{TTL: ttl, AutoRefresh: true, RefreshInterval: interval, OnLost: lost.onLost})
	sent := time.Now() // at or before the acquiring attempt's start
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	at, err, n := lost.get() // waits up to 5s
	if n != 1 {
		t.Fatalf("OnLost called %d times within 5s, want once", n)
	}
	if deadline := sent.Add(ttl - expiryMargin(ttl)); at.Before(deadline) {
		t.Errorf("loss reported %v after Acquire was called, before the deadline at %v",
			at.Sub(sent).Round(time.Millisecond), deadline.Sub(sent))
	}
	if !errors.Is(err, ErrNotHeld) || !errors.Is(err, io.EOF) {
		t.Errorf("OnLost got %v, want ErrNotHeld with the refreshes' error", err)
	}
	select {
	case <-l.Lost():
	default:
		t.Error("Lost() not closed")
	}
	spy.mu.Lock()
	attempts := spy.attempts
	spy.mu.Unlock()
	if attempts < 2 {
		t.Errorf("%d refreshes sent before the loss, want one per %v tick", attempts, interval)
	}
	if err := l.Release(ctx); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Release after the loss: %v, want ErrNotHeld", err)
	}
}

// A refresh that finds the key gone reports the loss at once, not at the
// deadline, a minute away here.
func TestLockWatchdogReportsAKeyFoundGone(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	const key = "lock-test:{wd-gone}"
	lost := &lostRecorder{}
	l := mustNew(t, b.Client, key, &Options{TTL: time.Minute, AutoRefresh: true, RefreshInterval: 20 * time.Millisecond, OnLost: lost.onLost})
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Client.Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	_, err, n := lost.get() // waits up to 5s
	if n != 1 || !errors.Is(err, ErrNotHeld) {
		t.Fatalf("OnLost called %d times within 5s of the key's deletion (%v), want once with ErrNotHeld", n, err)
	}
}

func TestTransientErrors(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	// A BUSY reply to a script comes as a *redislua.ScriptError wrapping it.
	busy := refreshScript.MapError(replyError("BUSY Redis is busy running a script."))
	var se *redislua.ScriptError
	if !errors.As(busy, &se) || !errors.Is(busy, redislua.ErrBusy) {
		t.Fatalf("MapError(BUSY) = %#v, want a *redislua.ScriptError matching ErrBusy", busy)
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{io.EOF, true},
		{fmt.Errorf("wrapped: %w", io.ErrUnexpectedEOF), true},
		{reset, true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{syscall.ECONNRESET, true},
		{&net.DNSError{IsTimeout: true}, true},
		{replyError("LOADING Redis is loading the dataset in memory"), true},
		{replyError("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{replyError("CLUSTERDOWN The cluster is down"), true},
		{replyError("MASTERDOWN Link with MASTER is down"), true},
		{replyError("READONLY You can't write against a read only replica."), true},
		{busy, true},
		{replyError("NOPERM this user has no permissions to run the 'evalsha' command"), false},
		{replyError("ERR user_script:1: boom script: abc, on @user_script:1."), false},
		{replyError("NOSCRIPT No matching script."), false},
		{context.Canceled, false},
		{context.DeadlineExceeded, false},
		{fmt.Errorf("%w: lock %q expired", ErrNotHeld, "k"), false},
		{errors.New("something else"), false},
		{nil, false},
	} {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// A refresh that fails with a transient error is sent again as
// RefreshRetry says; without it, the error is returned. Sending it again
// is safe: it sets the TTL only while the key holds the token.
func TestLockRefreshRetriesATransientError(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	for _, tc := range []struct {
		name     string
		retry    RetryStrategy
		err      error
		wantErr  error // nil: Refresh succeeds
		attempts int
	}{
		{"no strategy", nil, reset, syscall.ECONNRESET, 1},
		{"with a strategy", LinearRetry(10 * time.Millisecond), reset, nil, 2},
		{"not transient", LinearRetry(10 * time.Millisecond), replyError("NOPERM no permissions"), replyError("NOPERM no permissions"), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testbackend.Real(t)
			ctx := context.Background()
			const key = "lock-test:{refresh-retry}"
			if err := refreshScript.Load(ctx, b.Client); err != nil {
				t.Fatal(err)
			}
			fault := &scriptFault{sha: refreshScript.SHA(), err: tc.err, afterSending: true}
			b.Client.AddHook(fault)
			l := mustNew(t, b.Client, key, &Options{RefreshRetry: tc.retry})
			if err := l.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			b.Sent.Take()
			fault.remaining.Store(1)
			err := l.Refresh(ctx, time.Minute)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Refresh: got %v, want %v", err, tc.wantErr)
			}
			if errors.Is(err, ErrNotHeld) {
				t.Errorf("Refresh: %v matches ErrNotHeld", err)
			}
			if n := testbackend.Count(b.Sent.Take(), "evalsha"); n != tc.attempts {
				t.Errorf("sent %d refreshes, want %d", n, tc.attempts)
			}
			// The first attempt ran (its reply was lost): the TTL is a minute either way.
			if ttl := b.Client.PTTL(ctx, key).Val(); ttl <= DefaultTTL {
				t.Errorf("PTTL %v after Refresh(1m)", ttl)
			}
			select {
			case <-l.Lost():
				t.Error("Lost() closed by a failed refresh")
			default:
			}
		})
	}
}

// Retries end at the acquisition's local deadline, even with a strategy
// that would retry forever, and with the caller's context if it ends
// first.
func TestLockRefreshRetriesStopAtTheDeadline(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	const (
		key = "lock-test:{refresh-deadline}"
		ttl = 400 * time.Millisecond
	)
	if err := refreshScript.Load(ctx, b.Client); err != nil {
		t.Fatal(err)
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	fault := &scriptFault{sha: refreshScript.SHA(), err: refused}
	fault.remaining.Store(1 << 30)
	b.Client.AddHook(fault)
	l := mustNew(t, b.Client, key, &Options{TTL: ttl, RefreshRetry: LinearRetry(5 * time.Millisecond)})
	start := time.Now()
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	acquired := time.Now()

	// The caller's context ends first: its error, not a loss.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err := l.Refresh(cctx, 0)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, ErrNotHeld) {
		t.Errorf("Refresh with a 50ms context: got %v, want the context's error and the last refresh's", err)
	}

	// No deadline but the lock's.
	err = l.Refresh(ctx, 0)
	returned := time.Now()
	sent := 1<<30 - fault.remaining.Load()
	t.Logf("acquired at 0; Refresh returned at +%v after %d attempts: %v", returned.Sub(acquired).Round(time.Millisecond), sent, err)
	if !errors.Is(err, ErrNotHeld) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Refresh retrying forever: got %v, want ErrNotHeld with the last error", err)
	}
	if early := start.Add(ttl - expiryMargin(ttl)); returned.Before(early) {
		t.Errorf("Refresh gave up %v after Acquire, before the deadline", returned.Sub(acquired))
	}
	if late := acquired.Add(ttl + 50*time.Millisecond); returned.After(late) {
		t.Errorf("Refresh returned %v after Acquire, past the %v TTL", returned.Sub(acquired), ttl)
	}
	if sent < 10 {
		t.Errorf("%d refreshes sent, want one every 5ms until the deadline", sent)
	}
	select {
	case <-l.Lost():
	default:
		t.Error("Lost() not closed")
	}
}

// The watchdog retries a failed refresh as RefreshRetry says, rather than
// at its next tick.
func TestLockWatchdogRetriesBetweenTicks(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	const ttl = 3 * time.Second // refreshed every second
	if err := refreshScript.Load(ctx, b.Client); err != nil {
		t.Fatal(err)
	}
	spy := &refreshSpy{}
	b.Client.AddHook(spy) // outside the fault: it sees the failure
	fault := &scriptFault{sha: refreshScript.SHA(), err: io.EOF}
	fault.remaining.Store(1)
	b.Client.AddHook(fault)
	l := mustNew(t, b.Client, "lock-test:{wd-retry}", &Options{TTL: ttl, AutoRefresh: true, RefreshRetry: LinearRetry(20 * time.Millisecond)})
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	acquired := time.Now()
	defer l.Release(ctx)
	waitFor(t, 5*time.Second, "a successful refresh", func() bool { _, _, n := spy.lastOK(); return n > 0 })
	okSent, _, _ := spy.lastOK()
	t.Logf("first refresh failed, the next was sent %v after Acquire", okSent.Sub(acquired).Round(time.Millisecond))
	if d := okSent.Sub(acquired); d > 1500*time.Millisecond {
		t.Errorf("the refresh after the failed one was sent %v after Acquire; the first tick is at 1s, the next at 2s", d)
	}
}
