package ratelimit

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/prebuilt"
	"github.com/redislua/redislua/internal/redistest"
)

// BenchmarkMemory reports the memory one key takes (MEMORY USAGE
// ... SAMPLES 0, bytes-per-key) after a number of calls inside one window,
// for both kinds of limiter, and times an Allow refused on that full key.
func BenchmarkMemory(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	b.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	for _, v := range []struct {
		name   string
		suffix string
		opts   *Options
	}{
		{"log", keyspace.KindRateLog, nil},
		{"counter", keyspace.KindRateCount, counterOpts},
	} {
		for _, calls := range []int{10, 100, 128, 129, 1000, 10000} {
			b.Run(v.name+"/calls="+strconv.Itoa(calls), func(b *testing.B) {
				l, err := New(rdb, calls, time.Hour, v.opts)
				if err != nil {
					b.Fatal(err)
				}
				key := "bench:memory:" + v.name + ":" + strconv.Itoa(calls)
				if err := l.Reset(ctx, key); err != nil {
					b.Fatal(err)
				}
				for i := range calls {
					if r, err := l.Allow(ctx, key); err != nil || !r.Allowed {
						b.Fatalf("call %d: %+v, %v", i, r, err)
					}
				}
				k := keyspace.Derive(key, v.suffix)
				bytes, err := rdb.MemoryUsage(ctx, k, 0).Result()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if r, err := l.Allow(ctx, key); err != nil || r.Allowed {
						b.Fatalf("call on a full key: %+v, %v", r, err)
					}
				}
				b.ReportMetric(float64(bytes), "bytes/key")
				b.ReportMetric(float64(bytes)/float64(calls), "bytes/call")
			})
		}
	}
}

// BenchmarkLogScript measures the log script's server time
// (INFO commandstats, script-µs/op: robust to load on the client side) on a
// real redis-server, to size what one call may do:
//
//   - add/n=N: AllowN(N) admitted on a key already holding 10,000 calls, so
//     per-member cost = (add/n=128 - add/n=1) / 127;
//   - trim/size=S: Allow on a key holding S calls that have left the window,
//     of which each call removes 128;
//   - worst/size=S: AllowN(MaxLogAllowN) admitted on such a key, which both
//     removes 128 and adds MaxLogAllowN: the most any call does;
//   - zremrangebyscore/k=K: the command that trimmed the log before calls
//     were bounded, removing K members at once (its own commandstats line).
//
// Run with -benchtime 200x: every call adds to the key.
func BenchmarkLogScript(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	b.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	if err := prebuilt.Registry.LoadAll(ctx, rdb); err != nil {
		b.Fatal(err)
	}
	l, err := New(rdb, 1<<40, time.Hour, nil)
	if err != nil {
		b.Fatal(err)
	}
	// fill adds calls to key's log made an hour and a day ago (gone) or
	// now-ish (in the window), in batches of 10,000 members.
	fill := func(b *testing.B, key string, calls int, gone bool) {
		b.Helper()
		score := float64(time.Now().UnixMicro())
		if gone {
			score -= float64((25 * time.Hour).Microseconds())
		}
		log := keyspace.Derive(key, keyspace.KindRateLog)
		for done := 0; done < calls; {
			batch := make([]redis.Z, 0, 10000)
			for ; done < calls && len(batch) < cap(batch); done++ {
				batch = append(batch, redis.Z{Score: score, Member: "fill:" + strconv.Itoa(done) + ":" + strconv.FormatBool(gone)})
			}
			if err := rdb.ZAdd(ctx, log, batch...).Err(); err != nil {
				b.Fatal(err)
			}
		}
		if err := rdb.Expire(ctx, log, time.Hour).Err(); err != nil {
			b.Fatal(err)
		}
	}
	// measure runs call b.N times, refilling between calls when refill
	// says so, and reports the server's time per EVALSHA.
	measure := func(b *testing.B, cmd string, call func(), refill func()) {
		b.Helper()
		if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			call()
			if refill != nil {
				b.StopTimer()
				refill()
				b.StartTimer()
			}
		}
		calls, usec := commandStat(b, rdb, cmd)
		if calls != int64(b.N) {
			b.Fatalf("%s ran %d times, want %d", cmd, calls, b.N)
		}
		b.ReportMetric(float64(usec)/float64(calls), "script-µs/op")
	}
	allow := func(b *testing.B, key string, n int) func() {
		return func() {
			if r, err := l.AllowN(ctx, key, n); err != nil || !r.Allowed {
				b.Fatalf("AllowN(%d): %+v, %v", n, r, err)
			}
		}
	}
	for _, n := range []int{1, 16, 64, MaxLogAllowN} {
		b.Run("add/n="+strconv.Itoa(n), func(b *testing.B) {
			key := "bench:logscript:add:" + strconv.Itoa(n)
			fill(b, key, 10000, false)
			measure(b, "evalsha", allow(b, key, n), nil)
		})
	}
	for _, size := range []int{10000, 1000000} {
		for _, c := range []struct {
			name string
			n    int
		}{{"trim", 1}, {"worst", MaxLogAllowN}} {
			b.Run(c.name+"/size="+strconv.Itoa(size), func(b *testing.B) {
				key := "bench:logscript:" + c.name + ":" + strconv.Itoa(size)
				fill(b, key, size, true)
				gone := size
				measure(b, "evalsha", allow(b, key, c.n), func() {
					if gone -= 128; gone < 128 {
						_ = rdb.Del(ctx, keyspace.Derive(key, keyspace.KindRateLog))
						fill(b, key, size, true)
						gone = size
					}
				})
			})
		}
	}
	for _, k := range []int{1000, 10000, 100000} {
		b.Run("zremrangebyscore/k="+strconv.Itoa(k), func(b *testing.B) {
			key := "bench:logscript:zrem:" + strconv.Itoa(k)
			log := keyspace.Derive(key, keyspace.KindRateLog)
			fill(b, key, k, true)
			measure(b, "zremrangebyscore", func() {
				if err := rdb.ZRemRangeByScore(ctx, log, "-inf", "+inf").Err(); err != nil {
					b.Fatal(err)
				}
			}, func() { fill(b, key, k, true) })
		})
	}
}

// commandStat returns a command's calls and usec from INFO commandstats.
func commandStat(tb testing.TB, c *redis.Client, cmd string) (calls, usec int64) {
	tb.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(info) {
		stats, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+cmd+":")
		if !ok {
			continue
		}
		for field := range strings.SplitSeq(stats, ",") {
			k, v, _ := strings.Cut(field, "=")
			switch k {
			case "calls":
				calls, _ = strconv.ParseInt(v, 10, 64)
			case "usec":
				usec, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		return calls, usec
	}
	tb.Fatalf("no cmdstat_%s in INFO commandstats", cmd)
	return 0, 0
}
