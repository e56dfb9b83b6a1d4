package ratelimit

import (
	"strconv"
	"strings"
)

// Options configures a Limiter at construction; New checks every field. A
// nil *Options, like the zero value, is the exact sliding-window log.
type Options struct {
	// Algorithm is how the limiter counts: SlidingLog (the zero value),
	// SlidingCounter or GCRA. The package documentation says how to
	// choose.
	Algorithm Algorithm
	// Burst is, for GCRA only, the most calls admitted at once; 0 means
	// the limit. Other algorithms refuse any other value with
	// ErrInvalidLimit.
	Burst int
}

// Algorithm is how a Limiter counts the calls in its window.
type Algorithm int

const (
	// SlidingLog, the default, records every admitted call in a sorted set
	// per key and is exact: it never admits more than the limit in any
	// window. Memory grows with the calls in the window, and one AllowN
	// takes at most MaxLogAllowN calls.
	SlidingLog Algorithm = iota

	// SlidingCounter keeps two counts per key (the calls of the current
	// fixed window and of the one before) and estimates the calls in the
	// sliding window as
	//
	//	current + previous * (share of the previous window still inside it)
	//
	// Memory per key is constant and a call costs the same whatever the
	// limit or n, so it suits limits too high to log every call. The
	// estimate assumes the previous window's calls were spread evenly, so
	// it may admit more than the limit in some window-long interval, never
	// more than twice the limit; under demand above the limit it admits
	// limit - 1 calls per window. The package documentation gives the
	// measured bounds.
	SlidingCounter

	// GCRA, the generic cell rate algorithm (go-redis/redis_rate's),
	// spaces calls evenly: limit calls per window, one every window /
	// limit, with bursts of up to Options.Burst calls (the limit by
	// default) taken from the time saved while idle. It keeps one time per
	// key and is exact. Over any interval of length d it admits at most
	// burst + limit * d / window calls.
	GCRA
)

// eventDetail names a for the events of a limiter: "sliding_log",
// "sliding_counter", "gcra".
func (a Algorithm) eventDetail() string {
	return strings.ReplaceAll(a.String(), " ", "_")
}

// String returns "sliding log", "sliding counter" or "gcra".
func (a Algorithm) String() string {
	switch a {
	case SlidingLog:
		return "sliding log"
	case SlidingCounter:
		return "sliding counter"
	case GCRA:
		return "gcra"
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}
