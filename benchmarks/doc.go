// Package benchmarks measures redislua against the raw go-redis calls it
// wraps (on a plain client and through go-redis's AutoPipeliner), against
// rueidis's Lua scripts, bsm/redislock and go-redis/redis_rate, and against
// redis-benchmark, each on redis-server processes the benchmarks start
// themselves on 127.0.0.1.
//
// It is a module of its own so that the libraries it compares with never
// enter redislua's go.mod. Run the whole set with benchstat tables from the
// repository root:
//
//	make bench
//
// or one group directly:
//
//	cd benchmarks && go test -run '^$' -bench BenchmarkPerCall -count 6 .
//
// The tests in this package (go test .) run each variant once and check
// the round-trip counts that the cold-start figures rest on; they assert
// counts, never times.
package benchmarks
