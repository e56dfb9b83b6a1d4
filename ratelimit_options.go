package redislua

// RateLimitOption configures a RateLimiter at construction.
type RateLimitOption interface {
	applyRateLimit(*rateLimitConfig)
}

// rateLimitConfig is what RateLimitOptions set.
type rateLimitConfig struct {
	counter bool
}

type rateLimitOptionFunc func(*rateLimitConfig)

func (f rateLimitOptionFunc) applyRateLimit(c *rateLimitConfig) { f(c) }

// WithSlidingCounter makes the limiter a sliding-window counter instead of
// the exact sliding-window log: it keeps two counts per key (the calls of
// the current fixed window and of the one before) and estimates the calls
// in the sliding window as
//
//	current + previous * (share of the previous window still inside it)
//
// Memory per key is constant (one small hash) and a call costs the same
// whatever the limit, so it suits limits too high to log every call.
//
// The estimate assumes the previous window's calls were spread evenly, so
// it can let more than the limit through in some window-long interval.
// Measured against the exact log on the same arrivals (BENCHMARKS.md),
// the most calls it admitted in any such interval were:
//
//   - evenly spread traffic, at 0.9 to 2 times the limit: at most one call
//     over the limit;
//   - random (Poisson) traffic at 1 to 2 times the limit: about √limit
//     calls over in a typical run, up to about 1.5√limit in the worst of
//     40 (8 at a limit of 30, 14 at 100);
//   - a burst at the very end of one fixed window, then steady traffic
//     through the next: nearly twice the limit (+98%). Twice the limit is
//     the hard bound, as an interval spans at most two fixed windows and
//     each admits at most the limit.
//
// Under demand above the limit it also admits fewer calls than the log,
// most at small limits: the previous window counts for a share until it
// has wholly left, so after the first window it admits limit - 1 calls per
// window, and one every other window at a limit of 1 (measured: 50% of the
// log's at a limit of 1, 82% at 5, 91% at 10, 99% at 100; BENCHMARKS.md).
// Use the default log where the limit must hold exactly, and for small
// limits, where it is exact and takes little memory.
func WithSlidingCounter() RateLimitOption {
	return rateLimitOptionFunc(func(c *rateLimitConfig) { c.counter = true })
}
