package ratelimit

import (
	"fmt"
	"strconv"
	"time"
)

// Limit is a rate: Rate calls per Period. For GCRA, Burst is the most
// calls admitted at once (0 means Rate); the sliding log and counter admit
// Rate calls in any window of Period, and take a Burst of 0 or Rate only.
// It is go-redis/redis_rate's Limit, field for field.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// PerSecond is rate calls a second, in bursts of up to rate.
func PerSecond(rate int) Limit { return Limit{Rate: rate, Period: time.Second, Burst: rate} }

// PerMinute is rate calls a minute, in bursts of up to rate.
func PerMinute(rate int) Limit { return Limit{Rate: rate, Period: time.Minute, Burst: rate} }

// PerHour is rate calls an hour, in bursts of up to rate.
func PerHour(rate int) Limit { return Limit{Rate: rate, Period: time.Hour, Burst: rate} }

// String reads "10 req/s (burst 10)", as redis_rate's does.
func (l Limit) String() string {
	period := l.Period.String()
	switch l.Period {
	case time.Second:
		period = "s"
	case time.Minute:
		period = "m"
	case time.Hour:
		period = "h"
	}
	return fmt.Sprintf("%d req/%s (burst %d)", l.Rate, period, l.burst())
}

// burst is Burst, or Rate when Burst is 0.
func (l Limit) burst() int {
	if l.Burst == 0 {
		return l.Rate
	}
	return l.Burst
}

// maxGCRA bounds 2 * burst * period (in microseconds) for GCRA: the
// script's sums stay exact integers in Lua's doubles (see gcra.lua).
const maxGCRA = 1 << 53

// limitArgs is a checked Limit with its script arguments, boxed once.
type limitArgs struct {
	limit Limit
	most  int // the largest n one request may ask for: the limit or the burst
	// The script's first arguments: limit and window (log, counter) or
	// rate, period and burst (GCRA).
	args []any
}

// check validates lim for algorithm a and boxes its arguments.
func check(lim Limit, a Algorithm) (limitArgs, error) {
	if lim.Rate < 1 || lim.Rate > maxLimit {
		return limitArgs{}, fmt.Errorf("%w: rate %d", ErrInvalidLimit, lim.Rate)
	}
	if lim.Period < time.Millisecond || lim.Period > MaxWindow {
		return limitArgs{}, fmt.Errorf("%w: %v", ErrInvalidWindow, lim.Period)
	}
	lim.Period = lim.Period.Truncate(time.Microsecond)
	period := lim.Period.Microseconds()
	burst := lim.burst()
	if a != GCRA {
		if burst != lim.Rate {
			return limitArgs{}, fmt.Errorf("%w: a burst (%d) other than the rate (%d) is for GCRA", ErrInvalidLimit, lim.Burst, lim.Rate)
		}
		return limitArgs{limit: lim, most: lim.Rate, args: []any{strconv.Itoa(lim.Rate), strconv.FormatInt(period, 10)}}, nil
	}
	if burst < 1 || float64(burst)*float64(period) >= maxGCRA/2 {
		return limitArgs{}, fmt.Errorf("%w: burst %d: it must be at least 1, and burst * period (%d µs) below 2^52", ErrInvalidLimit, lim.Burst, period)
	}
	lim.Burst = burst
	return limitArgs{limit: lim, most: burst, args: []any{strconv.Itoa(lim.Rate), strconv.FormatInt(period, 10), strconv.Itoa(burst)}}, nil
}
