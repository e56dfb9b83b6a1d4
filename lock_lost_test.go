package redislua

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
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
		if len(args) < 2 || cmd.Name() != "evalsha" || args[1] != lockRefresh.SHA() {
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
			if err := lockRefresh.Load(ctx, direct); err != nil {
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
			holder := NewLock(via, key, &LockOptions{TTL: ttl, AutoRefresh: true, OnLost: lost.onLost})
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
			waiter := NewLock(direct, key, &LockOptions{Retry: LinearRetry(5 * time.Millisecond)})
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
			holder := NewLock(holderClient, key, &LockOptions{TTL: ttl, AutoRefresh: true, OnLost: lost.onLost})
			if err := holder.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			srv.Pause(t)
			time.Sleep(ttl + 500*time.Millisecond)
			srv.Resume()
			ok, err := NewLock(direct, key, nil).TryAcquire(ctx)
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
	holder = NewLock(via, key, &LockOptions{TTL: ttl, OnLost: func(error) {
		onLostDone <- holder.Release(context.Background())
	}})
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.Swallow()

	waiter := NewLock(direct, key, &LockOptions{Retry: LinearRetry(5 * time.Millisecond)})
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
	b := realRedis(t)
	ctx := context.Background()
	const (
		key    = "lock-test:{no-watchdog}"
		ttl    = 600 * time.Millisecond
		longer = 1200 * time.Millisecond
	)
	var lost lostRecorder
	holder := NewLock(b.client, key, &LockOptions{TTL: ttl, OnLost: lost.onLost})
	if err := holder.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(ttl / 2) // hold it for a while, then extend it
	refreshStart := time.Now()
	if err := holder.Refresh(ctx, longer); err != nil {
		t.Fatal(err)
	}
	refreshDone := time.Now()

	waiter := NewLock(b.client, key, &LockOptions{Retry: LinearRetry(5 * time.Millisecond)})
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
	if got := b.client.Get(ctx, key).Val(); got != waiter.Token() {
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
		if len(args) < 2 || cmd.Name() != "evalsha" || args[1] != lockRefresh.SHA() {
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
	b := realRedis(t)
	ctx := context.Background()
	const (
		key = "lock-test:{stuck-refresh}"
		ttl = 600 * time.Millisecond // refreshed every 200ms
	)
	if err := lockRefresh.Load(ctx, b.client); err != nil {
		t.Fatal(err)
	}
	hook := &holdReply{gate: make(chan struct{})}
	b.client.AddHook(hook)
	open := sync.OnceFunc(func() { close(hook.gate) })
	t.Cleanup(open)

	var lost lostRecorder
	holder := NewLock(b.client, key, &LockOptions{TTL: ttl, AutoRefresh: true, OnLost: lost.onLost})
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
	if got := b.client.Get(ctx, key).Val(); got != holder.Token() {
		t.Fatalf("lock key holds %q, want the holder's token: the refreshes ran", got)
	}
	b.sent.Take()
	if err := holder.Refresh(ctx, 0); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Refresh after the loss: got %v, want ErrNotHeld", err)
	}
	if _, err := holder.TTL(ctx); !errors.Is(err, ErrNotHeld) {
		t.Errorf("TTL after the loss: got %v, want ErrNotHeld", err)
	}
	if sent := b.sent.Take(); len(sent) != 0 {
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
	if n := b.client.Exists(ctx, key).Val(); n != 0 {
		t.Errorf("the lock key exists after Release")
	}

	// The replies come now: nothing changes.
	open()
	if n := b.client.Exists(ctx, key).Val(); n != 0 {
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
		if err == nil && len(args) >= 2 && cmd.Name() == "evalsha" && args[1] == lockAcquire.SHA() {
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
	b := realRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const ttl = 500 * time.Millisecond
	if err := lockAcquire.Load(ctx, b.client); err != nil { // no NOSCRIPT
		t.Fatal(err)
	}
	slowClient := func() (*redis.Client, *lateAcquireReply) {
		c := redis.NewClient(&redis.Options{Addr: b.client.Options().Addr})
		t.Cleanup(func() { _ = c.Close() })
		hook := &lateAcquireReply{delay: 2 * ttl, ran: make(chan struct{})}
		c.AddHook(hook)
		return c, hook
	}

	t.Run("Acquire", func(t *testing.T) {
		const key = "lock-test:{late-reply}"
		c, hook := slowClient()
		late := NewLock(c, key, &LockOptions{TTL: ttl, Retry: LinearRetry(5 * time.Millisecond)})
		done := make(chan error, 1)
		go func() { done <- late.Acquire(ctx) }()
		<-hook.ran
		// The late attempt's key expires while its reply is held: another
		// client takes the lock, and keeps it past the late reply.
		other := NewLock(b.client, key, &LockOptions{Retry: LinearRetry(5 * time.Millisecond)})
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
		if got := b.client.Get(ctx, key).Val(); got != late.Token() {
			t.Errorf("lock key holds %q, want the token of the Lock that acquired it", got)
		}
		_ = late.Release(ctx)
	})

	t.Run("TryAcquire", func(t *testing.T) {
		c, _ := slowClient()
		late := NewLock(c, "lock-test:{late-reply-try}", &LockOptions{TTL: ttl})
		ok, err := late.TryAcquire(ctx)
		if ok || err != nil {
			t.Errorf("TryAcquire with a reply past the deadline: got %v, %v; want false, nil", ok, err)
		}
		if tok := late.Token(); tok != "" {
			t.Errorf("the Lock holds token %q", tok)
		}
	})
}
