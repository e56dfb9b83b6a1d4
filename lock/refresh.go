package lock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/prebuilt"
)

// refreshTTL sets h's TTL to ttl (arg: in milliseconds, as sent) for Refresh
// and the watchdog. After a transient error it sends the refresh again as
// l.refreshRetry says. That is safe even if the first one ran: the script
// sets the TTL (PEXPIRE) only while the key holds h's token, and a second
// run sets the same TTL again.
//
// Every attempt and every wait ends by h's local deadline, whatever ctx
// and the client's timeouts say: the call runs on a goroutine of its own
// (see refreshCall). perAttempt, if not zero, bounds each attempt too.
//
// It returns nil once the TTL is set; an error matching ErrNotHeld when
// the key no longer holds the token or the deadline passed (the caller
// reports it with lose); otherwise the last attempt's error, joined with
// ctx's when ctx ended.
func (l *Lock) refreshTTL(ctx context.Context, h *holding, ttl time.Duration, arg string, perAttempt time.Duration) error {
	for attempt := 1; ; attempt++ {
		if err := l.ended(h); err != nil {
			return err
		}
		deadline := h.currentDeadline()
		actx, cancel := context.WithDeadline(ctx, deadline)
		if perAttempt > 0 {
			actx, cancel = withTimeout(actx, cancel, perAttempt)
		}
		start := time.Now()
		ok, err := l.refreshCall(actx, h.token, arg)
		// Cut off by perAttempt, if neither ctx nor the deadline ended
		// (checked below): a timeout, as a slow network gives.
		timedOut := perAttempt > 0 && errors.Is(actx.Err(), context.DeadlineExceeded)
		cancel()
		if err == nil {
			if !ok {
				return l.goneErr()
			}
			if h.refreshed(start, ttl) {
				return nil
			}
			if err := l.ended(h); err != nil {
				return err
			}
			return l.expiredErr(nil) // the reply came after the deadline
		}
		cause := h.failed(start, ttl, err)
		if !time.Now().Before(h.currentDeadline()) {
			return l.expiredErr(cause)
		}
		if ctx.Err() != nil {
			return l.refreshErr(cause, ctx.Err())
		}
		if !timedOut && !transient(err) {
			return l.refreshErr(err, nil)
		}
		if l.refreshRetry == nil {
			return l.refreshErr(cause, nil)
		}
		wait, retry := l.refreshRetry.Backoff(attempt)
		if !retry {
			return l.refreshErr(cause, nil)
		}
		if werr := sleepUntil(ctx, max(wait, minBackoff), h.currentDeadline()); werr != nil {
			if ctx.Err() != nil {
				return l.refreshErr(cause, ctx.Err())
			}
			return l.expiredErr(cause)
		}
	}
}

// ended returns the error of a refresh of h that is over before it is
// sent: h was found lost, or released. It returns nil otherwise.
func (l *Lock) ended(h *holding) error {
	if err := h.lostError(); err != nil {
		return err
	}
	if h.released() {
		return l.notHoldingErr()
	}
	return nil
}

// withTimeout bounds ctx, whose cancel is cancel, by d more; the returned
// cancel releases both.
func withTimeout(ctx context.Context, cancel context.CancelFunc, d time.Duration) (context.Context, context.CancelFunc) {
	inner, cancelInner := context.WithTimeout(ctx, d)
	return inner, func() { cancelInner(); cancel() }
}

// sleepUntil waits d. It returns ctx's error if ctx ends first, and
// context.DeadlineExceeded if deadline comes first.
func sleepUntil(ctx context.Context, d time.Duration, deadline time.Time) error {
	left := time.Until(deadline)
	t := time.NewTimer(max(min(d, left), 0))
	defer t.Stop()
	select {
	case <-t.C:
		if left <= d {
			return context.DeadlineExceeded
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refreshErr wraps a refresh's error, joined with ctxErr when ctx ended
// and err does not say so already.
func (l *Lock) refreshErr(err, ctxErr error) error {
	if ctxErr != nil && !errors.Is(err, ctxErr) {
		err = errors.Join(err, ctxErr)
	}
	return fmt.Errorf("lock: refreshing %s: %w", prebuilt.Quote(l.key), err)
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
		n, err := refreshScript.Run(ctx, l.client, l.keys[:1], token, arg).Int64()
		c <- reply{n == 1, err}
	}()
	select {
	case r := <-c:
		return r.ok, r.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// transientReplies are the server replies, by their first word, that say
// the server cannot serve the command now but may soon.
var transientReplies = []string{"LOADING", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "BUSY"}

// transient reports whether err is worth sending a refresh again for: a
// network error or timeout, or a server that cannot serve now. Context
// errors are the caller's decision, and any other server reply (NOPERM, a
// script error) would come again.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // context.DeadlineExceeded is a net.Error too
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		word, _, _ := strings.Cut(rerr.Error(), " ")
		for _, w := range transientReplies {
			if word == w {
				return true
			}
		}
		return false
	}
	var nerr net.Error
	return errors.As(err, &nerr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}
