package lock

import (
	"context"
	"errors"
	"time"
)

// startWatchdog starts the goroutine that keeps acquisition h alive; see
// Options.AutoRefresh. h.stopWatchdog stops it and waits for it.
func (l *Lock) startWatchdog(h *holding) {
	ctx, cancel := context.WithCancel(context.Background())
	h.stop, h.done = cancel, make(chan struct{})
	go l.watch(ctx, h)
}

// watch refreshes h's TTL every l.refresh, from the start of one refresh
// to the next, until ctx ends or h is lost. It reports the lock lost when
// a refresh finds it gone; h's deadline timer reports a deadline that
// passed (see refreshTTL: no refresh call holds the watchdog past it).
func (l *Lock) watch(ctx context.Context, h *holding) {
	t := time.NewTimer(l.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			close(h.done)
			return
		case <-h.lost:
			close(h.done)
			return
		case <-t.C:
		}
		start := time.Now()
		// Each attempt gets at most one interval, so that a call stuck on
		// a silent connection gives way to another before the deadline.
		err := l.refreshTTL(ctx, h, l.ttl, l.ttlArg, l.refresh)
		switch {
		case ctx.Err() != nil:
			close(h.done) // stopped by Release while refreshing
			return
		case errors.Is(err, ErrNotHeld):
			close(h.done) // first, so that OnLost may call Release
			_ = l.lose(h, err)
			return
		}
		t.Reset(max(l.refresh-time.Since(start), 0))
	}
}

// stopWatchdog stops h's watchdog, if it has one, and waits until it has
// stopped, so that it starts no refresh after it returns. A refresh call
// already started is not waited for: it is cancelled, and can only set
// the TTL of a key that still holds h's token or find the token gone.
func (h *holding) stopWatchdog() {
	if h.stop == nil {
		return
	}
	h.stop()
	<-h.done
}
