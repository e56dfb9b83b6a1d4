package redislua

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// A refresh that fails (here: a lost connection, before the script
// reached Redis) does not make the watchdog give the lock up: the next
// tick refreshes it, and the lock stays held. The TTL is far longer than
// the ticks, so only a watchdog that counts one failure as a loss fails
// this, however slow the machine.
func TestLockWatchdogKeepsTheLockAfterOneFailedRefresh(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	const key = "lock-test:{wd-one-failure}"
	if err := lockRefresh.Load(ctx, b.client); err != nil {
		t.Fatal(err)
	}
	spy := &refreshSpy{}
	b.client.AddHook(spy) // outside the fault: it sees the failure
	fault := &scriptFault{sha: lockRefresh.SHA(), err: io.EOF}
	fault.remaining.Store(1)
	b.client.AddHook(fault)
	lost := &lostRecorder{}
	l := NewLock(b.client, key, &LockOptions{TTL: time.Minute, AutoRefresh: true, RefreshInterval: 20 * time.Millisecond, OnLost: lost.onLost})
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
	if got := b.client.Get(ctx, key).Val(); got != l.Token() || got == "" {
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
	b := realRedis(t)
	ctx := context.Background()
	const (
		key      = "lock-test:{wd-failing}"
		ttl      = time.Second
		interval = 20 * time.Millisecond
	)
	if err := lockRefresh.Load(ctx, b.client); err != nil {
		t.Fatal(err)
	}
	spy := &refreshSpy{}
	b.client.AddHook(spy)
	fault := &scriptFault{sha: lockRefresh.SHA(), err: io.EOF}
	fault.remaining.Store(1 << 30)
	b.client.AddHook(fault)
	lost := &lostRecorder{}
	l := NewLock(b.client, key, &LockOptions{TTL: ttl, AutoRefresh: true, RefreshInterval: interval, OnLost: lost.onLost})
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
	b := realRedis(t)
	ctx := context.Background()
	const key = "lock-test:{wd-gone}"
	lost := &lostRecorder{}
	l := NewLock(b.client, key, &LockOptions{TTL: time.Minute, AutoRefresh: true, RefreshInterval: 20 * time.Millisecond, OnLost: lost.onLost})
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.client.Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	_, err, n := lost.get() // waits up to 5s
	if n != 1 || !errors.Is(err, ErrNotHeld) {
		t.Fatalf("OnLost called %d times within 5s of the key's deletion (%v), want once with ErrNotHeld", n, err)
	}
}
