package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
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
	// ErrInvalidLimit means a limit (a Limit's Rate) below 1 or above
	// 2^53 - 1 (the largest count Lua's numbers hold exactly), a Burst
	// other than the Rate for the log or counter, or, for GCRA, a burst
	// below 1 or whose burst * period (in microseconds) is not below 2^52.
	ErrInvalidLimit = errors.New("ratelimit: invalid limit")
	// ErrInvalidWindow means a window shorter than a millisecond or longer
	// than MaxWindow.
	ErrInvalidWindow = errors.New("ratelimit: window must be between 1ms and MaxWindow (10 years)")
	// ErrInvalidAlgorithm means an Options.Algorithm that is not
	// SlidingLog, SlidingCounter or GCRA.
	ErrInvalidAlgorithm = errors.New("ratelimit: unknown algorithm")
	// ErrInvalidCount means a count below 0, or, for AllowN, above the
	// limit (GCRA: the burst), which could never be admitted, or, for the
	// log, above MaxLogAllowN.
	ErrInvalidCount = errors.New("ratelimit: count must be between 0 and the limit")
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
	gcraScript    = prebuilt.Script("ratelimit/gcra")
	resetScript   = prebuilt.Script("ratelimit/reset")
)

// Limiter admits calls per key at the rate of its limit, by the algorithm
// its Options chose. It is safe for concurrent use. The package
// documentation states what each algorithm guarantees, how time is read
// and which keys it keeps.
type Limiter struct {
	c         redis.Scripter
	algorithm Algorithm
	script    *redislua.Script
	kind      string    // of its derived key
	def       limitArgs // the limit of calls that do not give one
}

// New returns a limiter that admits limit calls per window on each key,
// run on c (a *redis.Client, *redis.ClusterClient, *redis.Ring ...). opts
// chooses the algorithm, and for GCRA the burst; nil is the exact
// SlidingLog. The window is used at microsecond precision and must be at
// least a millisecond and at most MaxWindow. The calls that take a Limit
// (AllowWith, AllowAtMostWith) use theirs instead.
//
// Every argument is checked here, before anything is sent: a nil client is
// redislua.ErrNilClient, a pipeline or transaction redislua.ErrPipeline (a
// limiter needs each answer before the caller goes on), and a limit,
// window, burst or algorithm out of range ErrInvalidLimit,
// ErrInvalidWindow or ErrInvalidAlgorithm.
func New(c redis.Scripter, limit int, window time.Duration, opts *Options) (*Limiter, error) {
	if err := prebuilt.CheckDirectClient(c, "a rate limiter"); err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	l := &Limiter{c: c, algorithm: o.Algorithm}
	switch o.Algorithm {
	case SlidingLog:
		l.script, l.kind = logScript, keyspace.KindRateLog
	case SlidingCounter:
		l.script, l.kind = counterScript, keyspace.KindRateCount
	case GCRA:
		l.script, l.kind = gcraScript, keyspace.KindRateGCRA
	default:
		return nil, fmt.Errorf("%w: %v", ErrInvalidAlgorithm, o.Algorithm)
	}
	if o.Burst != 0 && o.Algorithm != GCRA {
		return nil, fmt.Errorf("%w: Options.Burst is for GCRA", ErrInvalidLimit)
	}
	def, err := check(Limit{Rate: limit, Period: window, Burst: o.Burst}, o.Algorithm)
	if err != nil {
		return nil, err
	}
	l.def = def
	return l, nil
}

// Limit returns the number of calls admitted per window.
func (l *Limiter) Limit() int { return l.def.limit.Rate }

// Window returns the window's length (at microsecond precision): GCRA's
// period.
func (l *Limiter) Window() time.Duration { return l.def.limit.Period }

// Burst returns the most calls admitted at once: the limit, or GCRA's
// burst.
func (l *Limiter) Burst() int { return l.def.most }

// Algorithm returns the algorithm the limiter runs.
func (l *Limiter) Algorithm() Algorithm { return l.algorithm }

// Result is the outcome of one request. No field is ever negative.
type Result struct {
	// Allowed reports whether the request was admitted: all n calls of
	// Allow and AllowN, at least one of AllowAtMost. Admitted calls are
	// recorded; a refused request records nothing. False for Peek.
	Allowed bool
	// Admitted is how many calls were admitted and recorded: n, fewer with
	// AllowAtMost, 0 when refused and for Peek. It is redis_rate's
	// Result.Allowed.
	Admitted int
	// Remaining is how many more calls would be admitted right now, after
	// this request: AllowN of up to Remaining calls at the same instant
	// would be allowed, of one more would not. Without new calls it only
	// grows as time passes.
	Remaining int
	// RetryAfter is 0 when the request was allowed, and for Peek.
	// Otherwise it is how long until the same request (the same n; one
	// call for AllowAtMost) would be allowed, if no other call is admitted
	// meanwhile: for the log, until enough of the oldest recorded calls
	// have left the window, exactly; for the counter, until its estimate
	// leaves room; for GCRA, until the arrival time is early enough,
	// exactly. It is never 0 for a refused request. (redis_rate reports
	// -1 where this is 0.)
	RetryAfter time.Duration
	// ResetAfter is how long until the key is back to its initial state,
	// if no other call is admitted meanwhile: every recorded call has left
	// the window (GCRA: Remaining is back to the burst). 0 when nothing is
	// recorded.
	ResetAfter time.Duration
}

// Allow admits one call on key if the limit allows it. It is AllowN(ctx,
// key, 1).
func (l *Limiter) Allow(ctx context.Context, key string) (Result, error) {
	return l.request(ctx, key, l.def, 1, false)
}

// AllowN admits n calls on key at once if all n fit in the limit, and
// records them; otherwise it records nothing, so a refused AllowN does not
// use up what is left. An n of 0 admits nothing and reports the state, as
// Peek. n must be at most the limit (GCRA: the burst), and with the log
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
	return l.request(ctx, key, l.def, n, false)
}

// AllowAtMost admits as many of n calls on key as fit, at least one, and
// records them; Result.Admitted says how many. When not even one fits it
// records nothing and RetryAfter is the time until one does. n may exceed
// the limit (and, with the log, MaxLogAllowN): at most that many are
// admitted at once. An n of 0 is Peek.
func (l *Limiter) AllowAtMost(ctx context.Context, key string, n int) (Result, error) {
	return l.request(ctx, key, l.def, n, true)
}

// Peek reports key's state, Remaining and ResetAfter, without admitting or
// recording anything. It is AllowN(ctx, key, 0).
func (l *Limiter) Peek(ctx context.Context, key string) (Result, error) {
	return l.request(ctx, key, l.def, 0, false)
}

// AllowWith is AllowN with the limit lim instead of the limiter's, as
// go-redis/redis_rate's AllowN takes one per call; an n of 0 is a Peek
// under lim. lim is checked as New checks its limit (ErrInvalidLimit,
// ErrInvalidWindow). Calls with different limits may share a key: with
// one window (GCRA: one period), a lower limit refuses sooner.
func (l *Limiter) AllowWith(ctx context.Context, key string, lim Limit, n int) (Result, error) {
	a, err := check(lim, l.algorithm)
	if err != nil {
		return Result{}, err
	}
	return l.request(ctx, key, a, n, false)
}

// AllowAtMostWith is AllowAtMost with the limit lim instead of the
// limiter's.
func (l *Limiter) AllowAtMostWith(ctx context.Context, key string, lim Limit, n int) (Result, error) {
	a, err := check(lim, l.algorithm)
	if err != nil {
		return Result{}, err
	}
	return l.request(ctx, key, a, n, true)
}

// request runs the limiter's script for n calls under limit a: all or
// none, or, with atMost, as many as fit.
func (l *Limiter) request(ctx context.Context, key string, a limitArgs, n int, atMost bool) (Result, error) {
	if err := prebuilt.CheckKey(key, "rate-limited key"); err != nil {
		return Result{}, err
	}
	most := a.most
	if l.algorithm == SlidingLog {
		most = min(most, MaxLogAllowN)
	}
	switch {
	case n < 0:
		return Result{}, fmt.Errorf("%w: %d", ErrInvalidCount, n)
	case n > most && atMost:
		n = most
	case n > a.most:
		return Result{}, fmt.Errorf("%w: %d, the limit is %d", ErrInvalidCount, n, a.most)
	case n > most:
		return Result{}, fmt.Errorf("%w: %d is over MaxLogAllowN (%d), the most the log takes at once (the sliding counter and GCRA take up to the limit)", ErrInvalidCount, n, MaxLogAllowN)
	}
	mode := "0"
	if atMost {
		mode = "1"
	}
	k := keyspace.Derive(key, l.kind)
	var cmd *redis.Cmd
	if len(a.args) == 2 {
		cmd = l.script.Run(ctx, l.c, []string{k}, a.args[0], a.args[1], n, mode)
	} else {
		cmd = l.script.Run(ctx, l.c, []string{k}, a.args[0], a.args[1], a.args[2], n, mode)
	}
	reply, err := cmd.Slice()
	if err != nil {
		return Result{}, err
	}
	v, err := readReply(reply)
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: script %s: %w", l.script.Name(), err)
	}
	if v[0] == -1 {
		return Result{}, fmt.Errorf("%w: %s holds a %v window's, this limiter's is %v", ErrWindowMismatch, prebuilt.Quote(k), micros(v[1]), a.limit.Period)
	}
	r := result(v, a.most, n)
	if n > 0 {
		ev := redislua.Event{Name: EventRefused, Detail: l.algorithm.eventDetail()}
		if r.Allowed {
			ev.Name = EventAllowed
		}
		redislua.Notify(ctx, l.c, ev)
	}
	return r, nil
}

// Events a limiter reports to its client's observer (redislua.Notify), one
// per request for at least one call that got an answer; Detail is the
// algorithm ("sliding_log", "sliding_counter", "gcra").
const (
	// EventAllowed is a request that admitted its calls.
	EventAllowed = "ratelimit.allowed"
	// EventRefused is a request that admitted none.
	EventRefused = "ratelimit.refused"
)

// Reset forgets every call recorded for key, by every algorithm: the next
// request starts from nothing. Its key is checked as AllowN's.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if err := prebuilt.CheckKey(key, "rate-limited key"); err != nil {
		return err
	}
	keys := []string{
		keyspace.Derive(key, keyspace.KindRateLog),
		keyspace.Derive(key, keyspace.KindRateCount),
		keyspace.Derive(key, keyspace.KindRateGCRA),
	}
	return resetScript.Run(ctx, l.c, keys).Err()
}

// result reads the scripts' four integers for a request of n calls:
// admitted, remaining, retry_after and reset_after. Whatever they hold,
// nothing is negative: Admitted and Remaining are kept between 0 and most,
// a refusal's RetryAfter is at least a microsecond, and a duration too
// long for a time.Duration is capped rather than wrapped.
func result(v [4]int64, most, n int) Result {
	r := Result{
		Admitted:   int(min(max(v[0], 0), int64(most))),
		Remaining:  int(min(max(v[1], 0), int64(most))),
		ResetAfter: micros(v[3]),
	}
	r.Allowed = r.Admitted > 0
	if !r.Allowed && n > 0 {
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
