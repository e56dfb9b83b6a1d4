package redislua

import (
	"context"
	"time"
)

// startWatchdog starts the goroutine that keeps acquisition h alive; see
// LockOptions.AutoRefresh. h.stopWatchdog stops it and waits for it.
func (l *Lock) startWatchdog(h *holding) {
	ctx, cancel := context.WithCancel(context.Background())
	h.stop, h.done = cancel, make(chan struct{})
	go l.watch(ctx, h)
}

// watch refreshes h's TTL every l.refresh until ctx ends. It reports the
// lock lost when a refresh finds it gone, or when no refresh succeeded for
// a whole TTL (counted from the start of the last successful one, when the
// TTL was set at the latest), and then stops.
func (l *Lock) watch(ctx context.Context, h *holding) {
	lost := func(cause error) {
		close(h.done) // first, so that OnLost may call Release
		_ = l.lose(h, cause)
	}
	t := time.NewTimer(l.refresh)
	defer t.Stop()
	setAt := h.setAt
	for {
		select {
		case <-ctx.Done():
			close(h.done)
			return
		case <-t.C:
		}
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, l.refresh)
		ok, err := l.refreshOnce(rctx, h.token, l.ttlArg)
		cancel()
		switch {
		case ctx.Err() != nil:
			close(h.done) // stopped by Release while refreshing
			return
		case ok:
			setAt = start
		case err == nil:
			lost(nil)
			return
		case time.Since(setAt) >= l.ttl:
			lost(err)
			return
		}
		t.Reset(l.refresh)
	}
}

// stopWatchdog stops h's watchdog, if it has one, and waits until it has
// stopped, so that no refresh is sent after it returns.
func (h *holding) stopWatchdog() {
	if h.stop == nil {
		return
	}
	h.stop()
	<-h.done
}
