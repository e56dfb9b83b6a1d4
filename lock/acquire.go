package lock

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/prebuilt"
)

// acquire is Acquire (wait true) and TryAcquire (wait false).
//
// The first attempt is sent at once, so an uncontended lock costs one
// round trip. When it fails and the caller waits, acquire joins its
// client's hub (hub.go) as a waiter on the lock's channel. When the
// subscription is confirmed the waiter is woken and tries again at once:
// a release between the first attempt and the confirmation is caught by
// that attempt, and any later one is published to a subscribed
// connection. Each wait lasts until a release message, the strategy's
// backoff or the holder's remaining TTL, whichever comes first; without a
// confirmation (a refused or broken subscription) that is polling.
//
// An attempt that took the lock counts only if its reply came before the
// acquisition's local deadline (see Options.AutoRefresh); otherwise it
// is released, and counts as failed.
func (l *Lock) acquire(ctx context.Context, wait bool) (err error) {
	if err := l.invalid(); err != nil {
		return err
	}
	start, attempt := time.Now(), 0
	defer func() { l.report(ctx, start, attempt, err) }()
	if err := ctx.Err(); err != nil {
		return l.notAcquired(err)
	}
	l.mu.Lock()
	if l.cur != nil || l.acquiring {
		l.mu.Unlock()
		return fmt.Errorf("%w: lock %s", ErrAlreadyHeld, prebuilt.Quote(l.key))
	}
	l.acquiring = true
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.acquiring = false
		l.mu.Unlock()
	}()

	// One token for every attempt of this call: an attempt resent after a
	// lost reply finds its own token and is told it holds the lock.
	token := newToken()
	var w *waiter
	defer func() {
		if w != nil {
			w.leave()
		}
	}()
	for attempt = 1; ; attempt++ {
		l.releaseAgain(ctx)
		sent := time.Now()
		ok, n, err := l.attempt(ctx, token)
		if err != nil {
			l.abandon(ctx, token)
			if ctx.Err() != nil {
				return l.notAcquired(ctx.Err())
			}
			return err
		}
		pttl := n
		if ok {
			if time.Now().Before(localDeadline(sent, l.ttl)) {
				l.hold(token, n, sent)
				return nil
			}
			// The reply came after the deadline: the key may have expired
			// and another holder taken it before this Lock heard of it.
			// It does not count; the next attempt, with the same token,
			// finds the key again if this release does not reach it.
			l.abandon(ctx, token)
			if !wait {
				return l.lateErr()
			}
			pttl = -1
		}
		if !wait {
			return l.notAcquired(nil)
		}
		backoff, retry := l.retry.Backoff(attempt)
		if !retry {
			return l.notAcquired(nil)
		}
		backoff = max(backoff, minBackoff) // whatever a custom strategy says
		if w == nil {
			w = joinHub(l.client, l.channel) // wakes w once subscribed
		}
		if d := time.Duration(pttl) * time.Millisecond; pttl >= 0 && d+time.Millisecond < backoff {
			backoff = d + time.Millisecond // the lock expires by then
		}
		if err := w.wait(ctx, backoff); err != nil {
			return l.notAcquired(err)
		}
	}
}

// attempt sends the acquire script once. It returns true and the fence
// (0 with NoFence) when the lock is now held with token, false and the
// holder's remaining TTL in milliseconds (-1 for none) when another holder
// has it. When the fence counter cannot issue a fence, the script has
// undone the acquisition, and the error matches ErrFenceExhausted or
// ErrNotInteger.
func (l *Lock) attempt(ctx context.Context, token string) (bool, int64, error) {
	script := acquireScript
	if l.noFence {
		script = acquireUnfencedScript
	}
	cmd, waitErr := script.RunAndWait(ctx, l.client, l.waitReplicas, l.keys, token, l.ttlArg)
	reply, err := cmd.Slice()
	if err != nil {
		return false, 0, fmt.Errorf("lock: acquiring %s: %w", prebuilt.Quote(l.key), err)
	}
	if len(reply) != 2 {
		return false, 0, fmt.Errorf("lock: acquiring %s: unexpected reply of %d values", prebuilt.Quote(l.key), len(reply))
	}
	code, ok := reply[0].(int64)
	if !ok {
		return false, 0, fmt.Errorf("lock: acquiring %s: unexpected reply type %T", prebuilt.Quote(l.key), reply[0])
	}
	switch code {
	case 1:
		// The fence comes as an integer strictly between -2^53 and 2^53,
		// as a decimal string outside (see acquire.lua), or as a string
		// when resent.
		fence, err := replyInt64(reply[1])
		if err != nil {
			return false, 0, fmt.Errorf("lock: acquiring %s: fence: %w", prebuilt.Quote(l.key), err)
		}
		if waitErr != nil { // held, but too few replicas have it: acquire releases it
			return false, 0, fmt.Errorf("lock: acquiring %s: %w", prebuilt.Quote(l.key), waitErr)
		}
		return true, fence, nil
	case 0:
		pttl, ok := reply[1].(int64)
		if !ok {
			return false, 0, fmt.Errorf("lock: acquiring %s: unexpected PTTL type %T", prebuilt.Quote(l.key), reply[1])
		}
		return false, pttl, nil
	case -1:
		why, _ := reply[1].(string)
		return false, 0, l.fenceErr(why)
	}
	return false, 0, fmt.Errorf("lock: acquiring %s: unexpected reply %v", prebuilt.Quote(l.key), reply)
}

// replyInt64 reads an integer reply, or a bulk string holding an int64.
func replyInt64(v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case string:
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, fmt.Errorf("unexpected reply type %T", v)
}

// fenceErr is the error of an acquisition that acquire.lua undid because
// the fence counter could not be incremented, for the reason it gave.
func (l *Lock) fenceErr(why string) error {
	counter := prebuilt.Quote(l.fenceKey)
	switch why {
	case "exhausted":
		return fmt.Errorf("%w: lock %s: fence counter %s", ErrFenceExhausted, prebuilt.Quote(l.key), counter)
	case "notinteger":
		return fmt.Errorf("%w: lock %s: fence counter %s", ErrNotInteger, prebuilt.Quote(l.key), counter)
	case "wrongtype":
		return fmt.Errorf("%w: lock %s: fence counter %s: %w", ErrNotInteger, prebuilt.Quote(l.key), counter, redislua.ErrWrongType)
	}
	return fmt.Errorf("lock: acquiring %s: fence counter %s: unexpected reason %q", prebuilt.Quote(l.key), counter, why)
}

// releaseAgain sends the release of the unreleased token, if there is
// one: an earlier Release (or abandon) failed, and the key may still hold
// it. Should this fail too, the attempt that follows finds the key held,
// and the next attempt sends it again.
func (l *Lock) releaseAgain(ctx context.Context) {
	l.mu.Lock()
	token := l.unreleased
	l.mu.Unlock()
	if token != "" {
		_, _ = l.releaseToken(ctx, token)
	}
}

// hold records a successful acquisition, whose attempt was sent at sent,
// and starts its deadline's timer and its watchdog.
func (l *Lock) hold(token string, fence int64, sent time.Time) {
	h := &holding{token: token, fence: fence, lost: make(chan struct{})}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.startDeadline(h, sent, l.ttl)
	if l.refresh > 0 {
		l.startWatchdog(h)
	}
	l.cur, l.last = h, h
	l.unreleased = "" // the key holds token: no earlier token can be in it
}

// abandon sends a release for token after an attempt that failed with an
// error, or whose reply came too late: the script may have run (a lost
// reply, a cancelled context) or stopped half-way, and the lock may be
// held by a token nobody will release. It is bounded by abandonTimeout and
// survives ctx's end. If it fails too, token is kept as unreleased, so
// that Release and the next Acquire send it again, unless the token of a
// failed Release is kept already: that one held the key before this
// attempt, which may never have run.
func (l *Lock) abandon(ctx context.Context, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abandonTimeout)
	defer cancel()
	if err := releaseScript.Run(ctx, l.client, l.keys[:1], token, l.channel).Err(); err != nil {
		l.mu.Lock()
		if l.unreleased == "" {
			l.unreleased = token
		}
		l.mu.Unlock()
	}
}

// lateErr is the error of an attempt that took the lock but whose reply
// came after the acquisition's deadline.
func (l *Lock) lateErr() error {
	return fmt.Errorf("%w: lock %s: the reply came after its TTL, less the margin, could run out", ErrNotAcquired, prebuilt.Quote(l.key))
}

// notAcquired returns ErrNotAcquired, joined with ctxErr when not nil so
// that errors.Is matches both.
func (l *Lock) notAcquired(ctxErr error) error {
	if ctxErr != nil {
		return fmt.Errorf("%w: lock %s: %w", ErrNotAcquired, prebuilt.Quote(l.key), ctxErr)
	}
	return fmt.Errorf("%w: lock %s is held by another holder", ErrNotAcquired, prebuilt.Quote(l.key))
}

// Events the lock reports to its client's observer (redislua.Notify).
const (
	// EventAcquired is an acquisition; its Duration is the time Acquire
	// or TryAcquire took, its Detail "immediate" (the first attempt took
	// the lock) or "waited" (the lock passed from another holder: a
	// hand-off).
	EventAcquired = "lock.acquired"
	// EventNotAcquired is an Acquire or TryAcquire that ended without the
	// lock: another holder kept it, the context ended or the strategy gave
	// up. Its Duration is the time spent.
	EventNotAcquired = "lock.not_acquired"
	// EventLost is an acquisition found lost before its Release (see
	// Lost).
	EventLost = "lock.lost"
)

// report tells the client's observer, if any, how an acquire call ended.
// Other errors (Redis's, misuse) are on the script calls' own records.
func (l *Lock) report(ctx context.Context, start time.Time, attempt int, err error) {
	switch {
	case err == nil:
		detail := "immediate"
		if attempt > 1 {
			detail = "waited"
		}
		redislua.Notify(ctx, l.client, redislua.Event{Name: EventAcquired, Duration: time.Since(start), Detail: detail})
	case errors.Is(err, ErrNotAcquired):
		redislua.Notify(ctx, l.client, redislua.Event{Name: EventNotAcquired, Duration: time.Since(start)})
	}
}
