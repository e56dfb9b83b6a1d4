package redislua

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redislua/redislua/internal/keyspace"
)

// Errors of RateLimiter's arguments, returned before anything is sent.
// Compare with errors.Is.
var (
	// ErrInvalidLimit means a rate limit below 1, or above 2^53 - 1 (the
	// largest count Lua's numbers hold exactly).
	ErrInvalidLimit = errors.New("redislua: rate limit must be between 1 and 2^53-1")
	// ErrInvalidWindow means a rate-limit window shorter than a millisecond
	// or longer than MaxRateWindow.
	ErrInvalidWindow = errors.New("redislua: rate-limit window must be between 1ms and MaxRateWindow (10 years)")
	// ErrInvalidCount means an AllowN count below 1, above the limit
	// (which no window could ever admit), or, for the log, above
	// MaxLogAllowN.
	ErrInvalidCount = errors.New("redislua: rate-limit count must be between 1 and the limit")
	// ErrWindowMismatch means a sliding counter's key holds the counts of
	// a limiter with another window, which this one cannot read; nothing
	// was counted. Limiters that share a key must share its window.
	ErrWindowMismatch = errors.New("redislua: rate-limit key holds the counts of another window")
)

// maxRateLimit is the largest limit: counts stay exact in Lua's doubles.
const maxRateLimit = 1<<53 - 1

// MaxLogAllowN is the most calls one AllowN may take on a sliding-window
// log (the default limiter). The log records each call as a member of a
// sorted set, and each admitted call also removes up to as many members
// that have left the window (a refused call writes nothing): bounding both keeps any call under about half a
// millisecond of server time, whatever the limit (figures in
// BENCHMARKS.md). The sliding counter takes any n up to its limit, at the
// cost of one call.
const MaxLogAllowN = 128

// MaxRateWindow is the longest rate-limit window, ten years. The scripts
// count time in whole microseconds in Lua's doubles, which are exact below
// 2^53 µs after 1970 (about the year 2255), and add up to two windows to
// the current time: with ten-year windows that stays exact until about
// 2235.
const MaxRateWindow = 10 * 365 * 24 * time.Hour

// The rate limiter's scripts, resolved once.
var (
	rateLogScript     = prebuilt.MustScript("ratelimit/log")
	rateCounterScript = prebuilt.MustScript("ratelimit/counter")
	rateResetScript   = prebuilt.MustScript("ratelimit/reset")
)

// RateLimiter admits at most limit calls per key in any sliding window of
// the given length. It is safe for concurrent use.
//
// By default it keeps a sliding-window log, which is exact: it never admits
// more than limit calls in any window. It is a sorted set per key with one
// member per admitted call in the window, so memory grows with those calls,
// up to the limit (MEMORY USAGE: about 40 bytes per call up to 128 calls,
// about 130 beyond). One AllowN on the log takes at most MaxLogAllowN calls,
// which bounds the server time of every call whatever the limit.
// WithSlidingCounter keeps two counts per key instead (about 130 bytes, any
// n up to the limit) and is approximate: it may admit up to twice the limit
// in a window-long interval (at most one call over for evenly spread
// traffic, about √limit for random traffic), and under demand above the
// limit it admits limit - 1 calls per window (see WithSlidingCounter).
// Limits go up to 2^53 - 1, windows from a millisecond to MaxRateWindow.
//
// Time is the Redis server's clock, read with TIME inside the scripts, so
// clients whose clocks disagree still share one limit (Redis 5 and later
// replicate a script's writes rather than the script, which is what makes
// reading the clock in it safe). Should that clock step back (or a failover
// bring a master whose clock is behind), no recorded call leaves the window
// early: with the log, calls recorded at a later time keep counting, and
// the key keeps living, until the clock has passed their window; the
// counter holds time at its newest window, and adds how far that is ahead
// of the clock to RetryAfter, ResetAfter and the key's TTL. A clock that
// steps forward ends the window early by the step.
//
// Limiters that share a key share its calls: with one window, a lower
// limit refuses sooner. Limiters with different windows cannot share a
// key: the counter refuses one that holds another window's counts with
// ErrWindowMismatch (until they expire, or Reset), and the log cannot tell,
// so the shorter window removes calls that the longer one still counts,
// whose limit then no longer holds. Give each window its own key.
//
// The limit holds on one master's data. Replication is asynchronous, so a
// failover can lose the calls recorded just before it, and a key may then
// admit up to the limit again; so can a maxmemory-policy that evicts the
// limiter's key.
//
// For a limited key K, the limiter keeps its state in one key that begins
// with K and hashes to K's cluster slot: "user:42{user:42}redislua:ratelog"
// (the log, a sorted set) or "user:42{user:42}redislua:ratecount" (the
// counter, a hash), "api:{u1}{}redislua:ratelog" for a K with a hash tag.
// Keys containing "}redislua:" are reserved for such state and refused with
// ErrReservedKey; see docs/keys.md. The log expires one window after its
// newest call and the counter at most two windows after its last call
// (TTLs are whole milliseconds, rounded up), so idle keys cost nothing.
type RateLimiter struct {
	c      redis.Scripter
	limit  int
	window time.Duration
	script *Script
	kind   string // of its derived key

	// limit and window (in microseconds), boxed once as script arguments.
	limitArg, windowArg any
}

// NewRateLimiter returns a limiter that admits limit calls per window on
// each key, run on c (a *redis.Client, *redis.ClusterClient, *redis.Ring
// ...). The window is used at microsecond precision and must be at least a
// millisecond and at most MaxRateWindow. A pipeline or transaction is
// refused with ErrPipeline: a limiter needs each answer before the caller
// goes on.
func NewRateLimiter(c redis.Scripter, limit int, window time.Duration, opts ...RateLimitOption) (*RateLimiter, error) {
	if isNilClient(c) {
		return nil, fmt.Errorf("%w: creating a rate limiter", ErrNilClient)
	}
	if _, ok := c.(redis.Pipeliner); ok {
		return nil, fmt.Errorf("%w: a rate limiter needs a client", ErrPipeline)
	}
	if limit < 1 || limit > maxRateLimit {
		return nil, ErrInvalidLimit
	}
	if window < time.Millisecond || window > MaxRateWindow {
		return nil, ErrInvalidWindow
	}
	var cfg rateLimitConfig
	for _, o := range opts {
		if o != nil {
			o.applyRateLimit(&cfg)
		}
	}
	micros := window.Microseconds()
	l := &RateLimiter{
		c:         c,
		limit:     limit,
		window:    time.Duration(micros) * time.Microsecond,
		script:    rateLogScript,
		kind:      kindRateLog,
		limitArg:  strconv.Itoa(limit),
		windowArg: strconv.FormatInt(micros, 10),
	}
	if cfg.counter {
		l.script, l.kind = rateCounterScript, kindRateCount
	}
	return l, nil
}

// Limit returns the number of calls admitted per window.
func (l *RateLimiter) Limit() int { return l.limit }

// Window returns the window's length (at microsecond precision).
func (l *RateLimiter) Window() time.Duration { return l.window }

// RateResult is the outcome of one Allow or AllowN call. No field is ever
// negative.
type RateResult struct {
	// Allowed reports whether the calls were admitted. Admitted calls are
	// recorded; a refused request records nothing.
	Allowed bool
	// Remaining is how many more calls would be admitted right now, after
	// this request: AllowN of up to Remaining calls at the same instant
	// would be allowed, of one more would not. Without new calls it only
	// grows as time passes.
	Remaining int
	// RetryAfter is 0 when the request was allowed. Otherwise it is how
	// long until the same request (the same n) would be allowed, if no
	// other call is admitted meanwhile: for the log, until enough of the
	// oldest recorded calls have left the window, exactly; for the
	// counter, until its estimate leaves room for n. It is never 0 for a
	// refused request.
	RetryAfter time.Duration
	// ResetAfter is how long until the window is fully clear, if no other
	// call is admitted meanwhile: every recorded call has left it, and
	// Remaining is back to the limit. 0 when nothing is recorded.
	ResetAfter time.Duration
}

// Allow admits one call on key if the limit allows it. It is AllowN(ctx,
// key, 1).
func (l *RateLimiter) Allow(ctx context.Context, key string) (RateResult, error) {
	return l.AllowN(ctx, key, 1)
}

// AllowN admits n calls on key at once if all n fit in the limit, and
// records them; otherwise it records nothing, so a refused AllowN does not
// use up what is left. n must be between 1 and the limit (ErrInvalidCount);
// an empty key is ErrEmptyKey, a name of the library's own form
// (docs/keys.md) ErrReservedKey. All are checked before anything is sent.
//
// An error that leaves the outcome unknown (a timeout, a lost connection)
// may have recorded the calls: a limiter fails towards refusing, never
// towards admitting more than the limit.
//
// With the log, AllowN records n members, so the server's work grows with
// n, and n may be at most MaxLogAllowN; with the counter it is one
// increment.
func (l *RateLimiter) AllowN(ctx context.Context, key string, n int) (RateResult, error) {
	if err := checkUserKey(key, "rate-limited key"); err != nil {
		return RateResult{}, err
	}
	if n < 1 || n > l.limit {
		return RateResult{}, ErrInvalidCount
	}
	if n > MaxLogAllowN && l.kind == kindRateLog {
		return RateResult{}, fmt.Errorf("%w: %d is over MaxLogAllowN (%d), the most the log takes at once (the sliding counter takes up to the limit)", ErrInvalidCount, n, MaxLogAllowN)
	}
	k := keyspace.Derive(key, l.kind)
	reply, err := l.script.Run(ctx, l.c, []string{k}, l.limitArg, l.windowArg, n).Slice()
	if err != nil {
		return RateResult{}, err
	}
	v, err := rateReply(reply)
	if err != nil {
		return RateResult{}, fmt.Errorf("redislua: script %s: %w", l.script.Name(), err)
	}
	if v[0] == -1 {
		return RateResult{}, fmt.Errorf("%w: %s holds a %v window's, this limiter's is %v", ErrWindowMismatch, quoteKey(k), micros(v[1]), l.window)
	}
	return l.result(v), nil
}

// result reads the scripts' four integers. Whatever they hold, nothing is
// negative: Remaining is kept between 0 and the limit, a refusal's
// RetryAfter is at least a microsecond, and a duration too long for a
// time.Duration is capped rather than wrapped.
func (l *RateLimiter) result(v [4]int64) RateResult {
	r := RateResult{
		Allowed:    v[0] == 1,
		Remaining:  int(min(max(v[1], 0), int64(l.limit))),
		ResetAfter: micros(v[3]),
	}
	if !r.Allowed {
		r.RetryAfter = max(micros(v[2]), time.Microsecond)
	}
	return r
}

// micros converts microseconds to a Duration, negative ones to 0 and those
// past the largest Duration to it.
func micros(us int64) time.Duration {
	switch {
	case us <= 0:
		return 0
	case us > math.MaxInt64/int64(time.Microsecond):
		return math.MaxInt64
	}
	return time.Duration(us) * time.Microsecond
}

// rateReply reads the scripts' reply: four integers.
func rateReply(reply []any) (v [4]int64, err error) {
	if len(reply) != len(v) {
		return v, fmt.Errorf("reply has %d values, want %d", len(reply), len(v))
	}
	for i, x := range reply {
		n, ok := x.(int64)
		if !ok {
			return v, fmt.Errorf("reply value %d is a %T, want an integer", i+1, x)
		}
		v[i] = n
	}
	return v, nil
}

// Reset forgets every call recorded for key, by either kind of limiter:
// the next window starts empty.
func (l *RateLimiter) Reset(ctx context.Context, key string) error {
	if err := checkUserKey(key, "rate-limited key"); err != nil {
		return err
	}
	keys := []string{keyspace.Derive(key, kindRateLog), keyspace.Derive(key, kindRateCount)}
	return rateResetScript.Run(ctx, l.c, keys).Err()
}
