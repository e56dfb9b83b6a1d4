package redislua

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// refreshTTL sets h's TTL to ttl (arg: in milliseconds, as sent) for
// Refresh and the watchdog, with one attempt that ends by h's local
// deadline, whatever ctx and the client's timeouts say: the call runs on a
// goroutine of its own (see refreshCall). perAttempt, if not zero, bounds
// it too.
//
// It returns nil once the TTL is set; an error matching ErrNotHeld when
// the key no longer holds the token or the deadline passed (the caller
// reports it with lose); otherwise the attempt's error.
func (l *Lock) refreshTTL(ctx context.Context, h *holding, ttl time.Duration, arg string, perAttempt time.Duration) error {
	if err := h.lostError(); err != nil {
		return err
	}
	actx, cancel := context.WithDeadline(ctx, h.currentDeadline())
	if perAttempt > 0 {
		actx, cancel = withTimeout(actx, cancel, perAttempt)
	}
	start := time.Now()
	ok, err := l.refreshCall(actx, h.token, arg)
	cancel()
	if err == nil {
		if !ok {
			return l.goneErr()
		}
		if !h.refreshed(start, ttl) {
			return l.expiredErr(nil) // the reply came after the deadline
		}
		return nil
	}
	h.failed(start, ttl, err)
	if !time.Now().Before(h.currentDeadline()) {
		return l.expiredErr(err)
	}
	return l.refreshErr(err, ctx.Err())
}

// withTimeout bounds ctx, whose cancel is cancel, by d more; the returned
// cancel releases both.
func withTimeout(ctx context.Context, cancel context.CancelFunc, d time.Duration) (context.Context, context.CancelFunc) {
	inner, cancelInner := context.WithTimeout(ctx, d)
	return inner, func() { cancelInner(); cancel() }
}

// refreshErr wraps a refresh's error, joined with ctxErr when ctx ended
// and err does not say so already.
func (l *Lock) refreshErr(err, ctxErr error) error {
	if ctxErr != nil && !errors.Is(err, ctxErr) {
		err = errors.Join(err, ctxErr)
	}
	return fmt.Errorf("redislua: refreshing lock %s: %w", quoteKey(l.key), err)
}

// refreshCall sends one refresh on a goroutine of its own and waits for
// its reply until ctx ends. A client without ContextTimeoutEnabled may
// keep a call on a silent connection waiting until its ReadTimeout;
// refreshCall does not wait with it. The abandoned call ends with the
// client's timeout or ctx (cancelled by the caller), and its reply is
// dropped: if it set the TTL, the key lives longer than this Lock counts
// on, which is safe.
func (l *Lock) refreshCall(ctx context.Context, token, arg string) (bool, error) {
	type reply struct {
		ok  bool
		err error
	}
	c := make(chan reply, 1)
	go func() {
		if err := ctx.Err(); err != nil { // Release came first
			c <- reply{false, err}
			return
		}
		n, err := lockRefresh.Run(ctx, l.client, l.keys[:1], token, arg).Int64()
		c <- reply{n == 1, err}
	}()
	select {
	case r := <-c:
		return r.ok, r.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}
