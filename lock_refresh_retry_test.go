package redislua

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// replyError is a server error reply, as go-redis reports one.
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

func TestTransientErrors(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
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
		{&ScriptError{Message: "BUSY", err: replyError("BUSY Redis is busy running a script."), kind: ErrBusy}, true},
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
			b := realRedis(t)
			ctx := context.Background()
			const key = "lock-test:{refresh-retry}"
			if err := lockRefresh.Load(ctx, b.client); err != nil {
				t.Fatal(err)
			}
			fault := &scriptFault{sha: lockRefresh.SHA(), err: tc.err, afterSending: true}
			b.client.AddHook(fault)
			l := NewLock(b.client, key, &LockOptions{RefreshRetry: tc.retry})
			if err := l.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			b.sent.Take()
			fault.remaining.Store(1)
			err := l.Refresh(ctx, time.Minute)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Refresh: got %v, want %v", err, tc.wantErr)
			}
			if errors.Is(err, ErrNotHeld) {
				t.Errorf("Refresh: %v matches ErrNotHeld", err)
			}
			if n := count(b.sent.Take(), "evalsha"); n != tc.attempts {
				t.Errorf("sent %d refreshes, want %d", n, tc.attempts)
			}
			// The first attempt ran (its reply was lost): the TTL is a minute either way.
			if ttl := b.client.PTTL(ctx, key).Val(); ttl <= DefaultLockTTL {
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
	b := realRedis(t)
	ctx := context.Background()
	const (
		key = "lock-test:{refresh-deadline}"
		ttl = 400 * time.Millisecond
	)
	if err := lockRefresh.Load(ctx, b.client); err != nil {
		t.Fatal(err)
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	fault := &scriptFault{sha: lockRefresh.SHA(), err: refused}
	fault.remaining.Store(1 << 30)
	b.client.AddHook(fault)
	l := NewLock(b.client, key, &LockOptions{TTL: ttl, RefreshRetry: LinearRetry(5 * time.Millisecond)})
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
	b := realRedis(t)
	ctx := context.Background()
	const ttl = 3 * time.Second // refreshed every second
	if err := lockRefresh.Load(ctx, b.client); err != nil {
		t.Fatal(err)
	}
	spy := &refreshSpy{}
	b.client.AddHook(spy) // outside the fault: it sees the failure
	fault := &scriptFault{sha: lockRefresh.SHA(), err: io.EOF}
	fault.remaining.Store(1)
	b.client.AddHook(fault)
	l := NewLock(b.client, "lock-test:{wd-retry}", &LockOptions{TTL: ttl, AutoRefresh: true, RefreshRetry: LinearRetry(20 * time.Millisecond)})
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

// badRetry is a RetryStrategy that retries at once: a zero or negative
// wait.
type badRetry struct{ wait time.Duration }

func (r badRetry) Backoff(int) (time.Duration, bool) { return r.wait, true }

// A strategy that returns a zero or negative wait does not turn Acquire,
// or Refresh after a transient error, into a loop hammering Redis (or the
// CPU): each waits at least 1ms, as the built-in strategies do.
func TestLockWaitsAtLeast1msWhateverTheStrategy(t *testing.T) {
	const period = 150 * time.Millisecond
	const most = int(period/time.Millisecond) + 20 // one attempt a millisecond, and a few more
	for _, wait := range []time.Duration{0, -time.Hour} {
		t.Run(fmt.Sprintf("Acquire/%v", wait), func(t *testing.T) {
			b := realRedis(t)
			ctx := context.Background()
			const key = "lock-test:{bad-retry}"
			if err := NewLock(b.client, key, nil).Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			b.sent.Take()
			actx, cancel := context.WithTimeout(ctx, period)
			defer cancel()
			err := NewLock(b.client, key, &LockOptions{Retry: badRetry{wait}}).Acquire(actx)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Acquire: got %v, want the context's error", err)
			}
			if n := count(b.sent.Take(), "evalsha"); n > most {
				t.Errorf("%d attempts in %v, want at most %d", n, period, most)
			}
		})
		t.Run(fmt.Sprintf("Refresh/%v", wait), func(t *testing.T) {
			b := realRedis(t)
			ctx := context.Background()
			if err := lockRefresh.Load(ctx, b.client); err != nil {
				t.Fatal(err)
			}
			fault := &scriptFault{sha: lockRefresh.SHA(), err: io.EOF} // fails at once, sending nothing
			fault.remaining.Store(1 << 30)
			b.client.AddHook(fault)
			l := NewLock(b.client, "lock-test:{bad-refresh-retry}", &LockOptions{TTL: period, RefreshRetry: badRetry{wait}})
			if err := l.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			if err := l.Refresh(ctx, 0); !errors.Is(err, ErrNotHeld) {
				t.Fatalf("Refresh: got %v, want ErrNotHeld at the deadline", err)
			}
			if n := 1<<30 - int(fault.remaining.Load()); n > most {
				t.Errorf("%d refreshes before a %v deadline, want at most %d", n, period, most)
			}
		})
	}
}
