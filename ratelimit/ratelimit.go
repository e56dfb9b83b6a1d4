package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/prebuilt"
)

// Errors of a Limiter's arguments and options, returned before anything is
// sent. Compare with errors.Is. A nil client is redislua.ErrNilClient, a
// pipeline redislua.ErrPipeline, an empty key redislua.ErrEmptyKey and a
// key of the library's own form redislua.ErrReservedKey.
var (
	// ErrInvalidLimit means a limit below 1, or above 2^53 - 1 (the
	// largest count Lua's numbers hold exactly).
	ErrInvalidLimit = errors.New("ratelimit: limit must be between 1 and 2^53-1")
	// ErrInvalidWindow means a window shorter than a millisecond or longer
	// than MaxWindow.
	ErrInvalidWindow = errors.New("ratelimit: window must be between 1ms and MaxWindow (10 years)")
	// ErrInvalidAlgorithm means an Options.Algorithm that is neither
	// SlidingLog nor SlidingCounter.
	ErrInvalidAlgorithm = errors.New("ratelimit: unknown algorithm")
	// ErrInvalidCount means an AllowN count below 1, above the limit
	// (which no window could ever admit), or, for the log, above
	// MaxLogAllowN.
	ErrInvalidCount = errors.New("ratelimit: count must be between 1 and the limit")
	// ErrWindowMismatch means a sliding counter's key holds the counts of
	// a limiter with another window, which this one cannot read; nothing
	// was counted. Limiters that share a key must share its window.
	ErrWindowMismatch = errors.New("ratelimit: key holds the counts of another window")
)

// maxLimit is the largest limit: counts stay exact in Lua's doubles.
const maxLimit = 1<<53 - 1

// MaxLogAllowN is the most calls one AllowN may take on a sliding-window
// log (the default algorithm). The log records each call as a member of a
// sorted set, and each admitted call also removes up to as many members
// that have left the window (a refused call writes nothing): bounding both
// keeps any call under about half a millisecond of server time, whatever
// the limit (figures in BENCHMARKS.md). The sliding counter takes any n up
// to its limit, at the cost of one call.
const MaxLogAllowN = 128

// MaxWindow is the longest window, ten years. The scripts count time in
// whole microseconds in Lua's doubles, which are exact below 2^53 µs after
// 1970 (about the year 2255), and add up to two windows to the current
// time: with ten-year windows that stays exact until about 2235.
const MaxWindow = 10 * 365 * 24 * time.Hour

// The limiter's scripts (package lua), resolved once.
var (
	logScript     = prebuilt.Script("ratelimit/log")
	counterScript = prebuilt.Script("ratelimit/counter")
	resetScript   = prebuilt.Script("ratelimit/reset")
)

// Limiter admits at most limit calls per key in any sliding window of its
// length, by the algorithm its Options chose. It is safe for concurrent
// use. The package documentation states what each algorithm guarantees,
// how time is read and which keys it keeps.
type Limiter struct {
	c         redis.Scripter
	limit     int
	window    time.Duration
	algorithm Algorithm
	script    *redislua.Script
	kind      string // of its derived key

	// limit and window (in microseconds), boxed once as script arguments.
	limitArg, windowArg any
}

// New returns a limiter that admits limit calls per window on each key,
// run on c (a *redis.Client, *redis.ClusterClient, *redis.Ring ...). opts
// chooses the algorithm; nil is the exact SlidingLog. The window is used
// at microsecond precision and must be at least a millisecond and at most
// MaxWindow.
//
// Every argument is checked here, before anything is sent: a nil client is
// redislua.ErrNilClient, a pipeline or transaction redislua.ErrPipeline (a
// limiter needs each answer before the caller goes on), and a limit,
// window or algorithm out of range ErrInvalidLimit, ErrInvalidWindow or
// ErrInvalidAlgorithm.
func New(c redis.Scripter, limit int, window time.Duration, opts *Options) (*Limiter, error) {
	if err := prebuilt.CheckDirectClient(c, "a rate limiter"); err != nil {
		return nil, err
	}
	if limit < 1 || limit > maxLimit {
		return nil, fmt.Errorf("%w: %d", ErrInvalidLimit, limit)
	}
	if window < time.Millisecond || window > MaxWindow {
		return nil, fmt.Errorf("%w: %v", ErrInvalidWindow, window)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	l := &Limiter{
		c:         c,
		limit:     limit,
		window:    window.Truncate(time.Microsecond),
		algorithm: o.Algorithm,
		limitArg:  strconv.Itoa(limit),
		windowArg: strconv.FormatInt(window.Microseconds(), 10),
	}
	switch o.Algorithm {
	case SlidingLog:
		l.script, l.kind = logScript, keyspace.KindRateLog
	case SlidingCounter:
		l.script, l.kind = counterScript, keyspace.KindRateCount
	default:
		return nil, fmt.Errorf("%w: %v", ErrInvalidAlgorithm, o.Algorithm)
	}
	return l, nil
}

// Limit returns the number of calls admitted per window.
func (l *Limiter) Limit() int { return l.limit }

// Window returns the window's length (at microsecond precision).
func (l *Limiter) Window() time.Duration { return l.window }

// Algorithm returns the algorithm the limiter runs.
func (l *Limiter) Algorithm() Algorithm { return l.algorithm }

// Result is the outcome of one Allow or AllowN call. No field is ever
// negative.
type Result struct {
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
func (l *Limiter) Allow(ctx context.Context, key string) (Result, error) {
	return l.AllowN(ctx, key, 1)
}

// AllowN admits n calls on key at once if all n fit in the limit, and
// records them; otherwise it records nothing, so a refused AllowN does not
// use up what is left. n must be between 1 and the limit, and with the log
// at most MaxLogAllowN (ErrInvalidCount); an empty key is
// redislua.ErrEmptyKey, a name of the library's own form
// redislua.ErrReservedKey. All are checked before anything is sent. A
// sliding counter's key that holds another window's counts is
// ErrWindowMismatch, and nothing is counted.
//
// An error that leaves the outcome unknown (a timeout, a lost connection)
// may have recorded the calls: a limiter fails towards refusing, never
// towards admitting more than the limit.
func (l *Limiter) AllowN(ctx context.Context, key string, n int) (Result, error) {
	if err := prebuilt.CheckKey(key, "rate-limited key"); err != nil {
		return Result{}, err
	}
	if n < 1 || n > l.limit {
		return Result{}, fmt.Errorf("%w: %d, the limit is %d", ErrInvalidCount, n, l.limit)
	}
	if n > MaxLogAllowN && l.algorithm == SlidingLog {
		return Result{}, fmt.Errorf("%w: %d is over MaxLogAllowN (%d), the most the log takes at once (the sliding counter takes up to the limit)", ErrInvalidCount, n, MaxLogAllowN)
	}
	k := keyspace.Derive(key, l.kind)
	reply, err := l.script.Run(ctx, l.c, []string{k}, l.limitArg, l.windowArg, n).Slice()
	if err != nil {
		return Result{}, err
	}
	v, err := readReply(reply)
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: script %s: %w", l.script.Name(), err)
	}
	if v[0] == -1 {
		return Result{}, fmt.Errorf("%w: %s holds a %v window's, this limiter's is %v", ErrWindowMismatch, prebuilt.Quote(k), micros(v[1]), l.window)
	}
	r := l.result(v)
	ev := redislua.Event{Name: EventRefused, Detail: l.algorithm.eventDetail()}
	if r.Allowed {
		ev.Name = EventAllowed
	}
	redislua.Notify(ctx, l.c, ev)
	return r, nil
}

// Events a limiter reports to its client's observer (redislua.Notify), one
// per AllowN that got an answer; Detail is the algorithm ("sliding_log",
// "sliding_counter").
const (
	// EventAllowed is an AllowN that admitted its calls.
	EventAllowed = "ratelimit.allowed"
	// EventRefused is an AllowN that refused them.
	EventRefused = "ratelimit.refused"
)

// Reset forgets every call recorded for key, by either algorithm: the next
// window starts empty. Its key is checked as AllowN's.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if err := prebuilt.CheckKey(key, "rate-limited key"); err != nil {
		return err
	}
	keys := []string{keyspace.Derive(key, keyspace.KindRateLog), keyspace.Derive(key, keyspace.KindRateCount)}
	return resetScript.Run(ctx, l.c, keys).Err()
}

// result reads the scripts' four integers. Whatever they hold, nothing is
// negative: Remaining is kept between 0 and the limit, a refusal's
// RetryAfter is at least a microsecond, and a duration too long for a
// time.Duration is capped rather than wrapped.
func (l *Limiter) result(v [4]int64) Result {
	r := Result{
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

// readReply reads the scripts' reply: four integers.
func readReply(reply []any) (v [4]int64, err error) {
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
