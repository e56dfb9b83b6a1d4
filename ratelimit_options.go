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
// Measured against the exact log on the same arrivals
// (TestRateLimiterCounterAccuracy, BenchmarkRateLimiterCounterAccuracy),
// the most calls it admitted in any such interval were:
//
//   - evenly spread traffic, at 0.9 to 2 times the limit: at most one call
//     over the limit;
//   - random (Poisson) traffic at 1 to 2 times the limit: about √limit calls
//     over at worst (5 at a limit of 30, 7 at 100, 15 at 400: 17%, 7%, 4%);
//   - a burst at the very end of one fixed window, then steady traffic
//     through the next: nearly twice the limit (+98%). Twice the limit is
//     the hard bound, as an interval spans at most two fixed windows and
//     each admits at most the limit.
//
// In steady traffic above the limit it admits slightly fewer calls in all
// than the log (99% as many at a limit of 100). Use the default log where
// the limit must hold exactly.
func WithSlidingCounter() RateLimitOption {
	return rateLimitOptionFunc(func(c *rateLimitConfig) { c.counter = true })
}
