package lock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redislua/redislua/internal/prebuilt"
)

// expiryMargin is how long before a TTL of ttl runs out, counted from when
// the command that set it was sent, a Lock counts its acquisition lost:
// Redlock's clock-drift allowance. 1% covers a server clock that runs
// faster than the client's (real clocks differ by far less), and 2ms a
// timer that fires late.
func expiryMargin(ttl time.Duration) time.Duration {
	return ttl/100 + 2*time.Millisecond
}

// localDeadline returns when a TTL of ttl, set by a command sent at sent,
// is counted as run out. The server started the TTL after sent, so the
// key lives at least until sent+ttl on its clock; the margin allows for
// the clocks' rates. ttl is taken in whole milliseconds, as it is sent.
func localDeadline(sent time.Time, ttl time.Duration) time.Time {
	ttl = ttl.Truncate(time.Millisecond)
	return sent.Add(ttl - expiryMargin(ttl))
}

// startDeadline starts h's timer, for an acquisition whose attempt was
// sent at sent with TTL ttl.
func (l *Lock) startDeadline(h *holding, sent time.Time, ttl time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setAt, h.deadline = sent, localDeadline(sent, ttl)
	h.timer = time.AfterFunc(time.Until(h.deadline), func() { l.expire(h) })
}

// expire runs at h's deadline. It reports h lost, unless h was released
// or already found lost, or a refresh moved the deadline (and the timer)
// meanwhile.
func (l *Lock) expire(h *holding) {
	h.mu.Lock()
	if h.ended || h.lostErr != nil || time.Now().Before(h.deadline) {
		h.mu.Unlock()
		return
	}
	cause := h.lastErr
	h.mu.Unlock()
	_ = l.lose(h, l.expiredErr(cause))
}

// expiredErr is the error of an acquisition whose deadline passed; cause
// is the last refresh's error, if any.
func (l *Lock) expiredErr(cause error) error {
	if cause != nil {
		return fmt.Errorf("%w: lock %s: its TTL ran out (less a margin for clock drift) before a refresh succeeded: %w", ErrNotHeld, prebuilt.Quote(l.key), cause)
	}
	return fmt.Errorf("%w: lock %s: its TTL ran out (less a margin for clock drift) before a refresh succeeded", ErrNotHeld, prebuilt.Quote(l.key))
}

// refreshed moves h's deadline after a refresh sent at start set the TTL
// to ttl. It returns false, and changes nothing, if h was released or
// found lost, or its deadline passed before the reply came: the loss
// stands, even though the key was just refreshed.
func (h *holding) refreshed(start time.Time, ttl time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended || h.lostErr != nil || !time.Now().Before(h.deadline) {
		return false
	}
	d := localDeadline(start, ttl)
	if start.Before(h.setAt) {
		// A reply that came after that of a later refresh: the server may
		// have run this one last, so its TTL counts if it ends sooner.
		if d.Before(h.deadline) {
			h.setDeadline(d)
		}
	} else {
		h.setAt = start
		h.setDeadline(d)
	}
	h.lastErr = nil
	return true
}

// failed records a refresh, sent at start with ttl, that ended with err
// (or was abandoned): it may or may not have set the TTL. If it did, and
// was the last to, the key lives until start+ttl at least, so the
// deadline moves earlier if that is sooner. With the Lock's own TTL it
// never is; with a shorter one passed to Refresh it may be.
//
// It returns the error that best says why refreshes fail: err, or the
// previous error when err only says that a context cut the call off.
func (h *holding) failed(start time.Time, ttl time.Duration, err error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	cause := err
	if h.lastErr != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		cause = h.lastErr
	}
	if h.ended || h.lostErr != nil {
		return cause
	}
	h.lastErr = cause
	if d := localDeadline(start, ttl); d.Before(h.deadline) {
		h.setDeadline(d)
	}
	return cause
}

// setDeadline moves the deadline and its timer; h.mu is held.
func (h *holding) setDeadline(d time.Time) {
	h.deadline = d
	h.timer.Reset(time.Until(d))
}

// currentDeadline returns h's deadline as it is now.
func (h *holding) currentDeadline() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.deadline
}

// lostError returns the error h was found lost with, nil if it was not.
func (h *holding) lostError() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lostErr
}

// released reports whether Release ended h.
func (h *holding) released() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ended
}

// end marks h released, so that nothing more is reported, and stops its
// timer. It returns the error h was found lost with, if it was.
func (h *holding) end() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = true
	h.timer.Stop()
	return h.lostErr
}
