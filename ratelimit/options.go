package ratelimit

import (
	"strconv"
	"strings"
)

// Options configures a Limiter at construction; New checks every field. A
// nil *Options, like the zero value, is the exact sliding-window log.
type Options struct {
	// Algorithm is how the limiter counts: SlidingLog (the zero value) or
	// SlidingCounter. The package documentation says how to choose.
	Algorithm Algorithm
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
)

// eventDetail names a for the events of a limiter: "sliding_log",
// "sliding_counter".
func (a Algorithm) eventDetail() string {
	return strings.ReplaceAll(a.String(), " ", "_")
}

// String returns "sliding log" or "sliding counter".
func (a Algorithm) String() string {
	switch a {
	case SlidingLog:
		return "sliding log"
	case SlidingCounter:
		return "sliding counter"
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}
