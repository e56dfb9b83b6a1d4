// Package ratelimit limits how often something happens per key, across
// every client of one Redis: a Limiter admits limit calls per key per
// window, by an exact sliding-window log, a sliding-window counter or GCRA
// (go-redis/redis_rate's algorithm), in one script call each, on
// *redis.Client, *redis.ClusterClient and *redis.Ring alike.
//
//	limiter, err := ratelimit.New(rdb, 100, time.Minute, nil) // 100 calls a minute per key
//	r, err := limiter.Allow(ctx, "user:42") // r.Allowed, r.Remaining, r.RetryAfter, r.ResetAfter
//	r, err = limiter.AllowAtMost(ctx, "import:acme", 500) // as many as fit: r.Admitted
//	r, err = limiter.Peek(ctx, "user:42")                 // the state, nothing used
//	r, err = limiter.AllowWith(ctx, "user:42", ratelimit.PerSecond(10), 1) // a limit per call
//
// New takes an *Options, nil for the defaults, as every constructor of
// the module does (go-redis's style): one place that lists what can be
// set, checked at construction.
//
// # Choosing the algorithm
//
// SlidingLog, the default, is exact: it never admits more than limit calls
// in any window, and it admits every call an exact sliding window would.
// It keeps a sorted set per key with one member per admitted call in the
// window, so memory grows with those calls, up to the limit (MEMORY
// USAGE: about 40 bytes per call up to 128 calls, about 130 beyond). One
// AllowN on the log takes at most MaxLogAllowN calls, which bounds the
// server time of every call whatever the limit.
//
// SlidingCounter keeps two counts per key instead (about 130 bytes
// whatever the limit, any n up to the limit in one call) and is
// approximate. Measured against the log on the same arrivals
// (BENCHMARKS.md), the most calls it admitted in any window-long interval
// were:
//
//   - evenly spread traffic, at 0.9 to 2 times the limit: at most one call
//     over the limit;
//   - random (Poisson) traffic at 1 to 2 times the limit: about √limit
//     calls over in a typical run, up to about 1.5√limit in the worst of
//     40 runs;
//   - a burst at the very end of one fixed window, then steady traffic
//     through the next: nearly twice the limit. Twice the limit is
//     the hard bound, as an interval spans at most two fixed windows and
//     each admits at most the limit.
//
// Under demand above the limit the counter also admits fewer calls than
// the log, most at small limits: the previous window counts for a share
// until it has wholly left, so after the first window it admits limit - 1
// calls per window, and one every other window at a limit of 1 (measured:
// 50% of the log's at a limit of 1, 82% at 5, 91% at 10, 99% at 100).
// Use the log where the limit must hold exactly and for small limits,
// where it is exact and takes little memory; the counter for limits too
// high to log every call.
//
// GCRA (the generic cell rate algorithm) keeps one time per key (about 90
// bytes) and is exact, but it limits a rate, not a window's count: it
// admits one call per window / limit, plus bursts of up to Options.Burst
// calls (the limit by default) saved up while idle. Over any interval of
// length d it admits at most burst + limit * d / window calls; with the
// default burst that is up to twice the limit in a window-long interval
// that starts with a full burst. Use it for smooth rates and where
// go-redis/redis_rate's semantics are wanted: its Limit, PerSecond,
// PerMinute and PerHour, AllowN(0) as a peek, AllowAtMost, and RetryAfter
// and ResetAfter are the same (0 where redis_rate reports -1;
// docs/ratelimit.md lists where they differ).
//
// Limits go up to 2^53 - 1, windows from a millisecond to MaxWindow.
//
// # Time
//
// Time is the Redis server's clock, read with TIME inside the scripts, so
// clients whose clocks disagree still share one limit (Redis 5 and later
// replicate a script's writes rather than the script, which is what makes
// reading the clock in it safe). Should that clock step back (or a
// failover bring a master whose clock is behind), no recorded call leaves
// the window early: with the log, calls recorded at a later time keep
// counting, and the key keeps living, until the clock has passed their
// window; the counter holds time at its newest window, and adds how far
// that is ahead of the clock to RetryAfter, ResetAfter and the key's TTL.
// GCRA admits nothing while its arrival time is more than a burst ahead of
// the clock, and its RetryAfter and ResetAfter run to that time. A clock
// that steps forward ends the window early by the step.
//
// # Sharing keys
//
// Limiters that share a key share its calls: with one window, a lower
// limit refuses sooner. Limiters with different windows cannot share a
// key: the counter refuses one that holds another window's counts with
// ErrWindowMismatch (until they expire, or Reset), and the log cannot
// tell, so the shorter window removes calls that the longer one still
// counts, whose limit then no longer holds. Give each window its own key.
//
// The limit holds on one master's data. Replication is asynchronous, so a
// failover can lose the calls recorded just before it, and a key may then
// admit up to the limit again; so can a maxmemory-policy that evicts the
// limiter's key.
//
// # Keys
//
// For a limited key K, a limiter keeps its state in one key that begins
// with K and hashes to K's cluster slot: "user:42{user:42}redislua:ratelog"
// (the log, a sorted set), "user:42{user:42}redislua:ratecount" (the
// counter, a hash) or "user:42{user:42}redislua:rategcra" (GCRA, a
// string), "api:{u1}{}redislua:ratelog" for a K with a hash tag.
// Keys containing "}redislua:" are reserved for such state and refused
// with redislua.ErrReservedKey; see docs/keys.md. The log expires one
// window (and up to 0.1 s) after its newest call, the counter at most two
// windows after its last call and GCRA's key 0.1 to 0.2 s after its time
// is reached, so idle keys cost nothing.
package ratelimit
