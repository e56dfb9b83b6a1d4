package main

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/ratelimit"
)

// The rate limiter: numRateKeys keys, each admitting rateLimit calls per
// rateWindow, an exact sliding-window log. The workers ask more often than
// that, so the limit binds and the bound check is tight.
const (
	numRateKeys = 4
	rateLimit   = 10
	rateWindow  = time.Second
)

// rateState is the limiter and how many calls it admitted per key.
type rateState struct {
	limiter *ratelimit.Limiter
	keys    [numRateKeys]string
	allowed [numRateKeys]atomic.Int64

	mu          sync.Mutex
	first, last time.Time // the first call's start, the last call's end
}

func newRateState(c redis.UniversalClient) (*rateState, error) {
	l, err := ratelimit.New(c, rateLimit, rateWindow, nil)
	if err != nil {
		return nil, err
	}
	r := &rateState{limiter: l}
	for i := range r.keys {
		r.keys[i] = "soak-rate" + strconv.Itoa(i)
	}
	return r, nil
}

// allow asks the limiter to admit one call on a random key.
func (w *worker) allow() {
	s := w.s
	r := s.rate
	i := w.rng.IntN(numRateKeys)
	start := time.Now()
	var res ratelimit.Result
	err := s.timed(opAllow, func(ctx context.Context) error {
		var err error
		res, err = r.limiter.Allow(ctx, r.keys[i])
		return err
	})
	end := time.Now()
	r.mu.Lock()
	if r.first.IsZero() || start.Before(r.first) {
		r.first = start
	}
	if end.After(r.last) {
		r.last = end
	}
	r.mu.Unlock()
	if err != nil {
		return
	}
	if res.Remaining < 0 || res.Remaining > rateLimit || (!res.Allowed && res.RetryAfter <= 0) {
		s.v.fail(checkRateReplies, "%s: %+v", r.keys[i], res)
	}
	if res.Allowed {
		r.allowed[i].Add(1)
		s.outcomes.add("ratelimit: allowed", 1)
	} else {
		s.outcomes.add("ratelimit: refused", 1)
	}
}

// checkRate checks that no key admitted more than the limit per window:
// the calls were admitted between the first call's start and the last
// call's end, a span that n windows cover with n = ceil(span/window), and
// any window admits at most the limit, so a key admitted at most
// limit*(n+1) calls (one more window for the edges). It counts only the
// calls acknowledged as allowed, so a lost reply can only lower it.
func (s *soak) checkRate() {
	r := s.rate
	span := r.last.Sub(r.first)
	windows := int64((span + rateWindow - 1) / rateWindow)
	bound := rateLimit * (windows + 1)
	var total int64
	for i := range r.keys {
		n := r.allowed[i].Load()
		total += n
		if n > bound {
			s.v.fail(checkRateBound, "%s admitted %d calls in %v, at most %d allowed", r.keys[i], n, span.Round(time.Millisecond), bound)
		}
	}
	s.v.note(checkRateBound, "%d admitted, bound %d per key over %v", total, bound, span.Round(time.Millisecond))
}
