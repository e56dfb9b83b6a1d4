package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/testbackend"
)

// counterOpts makes a sliding counter.
var counterOpts = &Options{Algorithm: SlidingCounter}

// server is a server the rate-limiter tests run on.
type server struct {
	name string
	c    redis.UniversalClient
}

// forEachServer runs fn on a fresh miniredis, a fresh redis-server and
// the shared Redis Cluster.
func forEachServer(t *testing.T, fn func(t *testing.T, srv server)) {
	t.Helper()
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		fn(t, server{name: b.Name, c: b.Client})
	})
	t.Run("cluster", func(t *testing.T) {
		fn(t, server{name: "cluster", c: testbackend.SharedCluster(t)})
	})
}

// keySeq makes every key of this package's tests unique, also across runs
// against the shared cluster (-count=N runs them in one binary).
var keySeq atomic.Int64

// rateKey returns a key no other test uses.
func testKey(t *testing.T, name string) string {
	return fmt.Sprintf("ratelimit-test:%s:%d:%s", t.Name(), keySeq.Add(1), name)
}

// variant is one kind of limiter, with a window long enough for a test
// on a real server to finish inside it.
type variant struct {
	name   string
	window time.Duration
	opts   *Options
}

var variants = []variant{
	{"log", time.Minute, nil},
	// The counter's fixed windows are aligned to the epoch, so one may end
	// during the test. After it, the previous window's calls still count in
	// full until 1/limit of the new window has passed: with an hour that
	// is 36 s for a limit of 100, far longer than the test.
	{"counter", time.Hour, counterOpts},
	{"gcra", time.Minute, gcraOpts},
}

func newTestLimiter(t *testing.T, c redis.Scripter, limit int, window time.Duration, opts *Options) *Limiter {
	t.Helper()
	l, err := New(c, limit, window, opts)
	if err != nil {
		t.Fatalf("New(%d, %v): %v", limit, window, err)
	}
	return l
}

// allowN calls AllowN and fails the test on error.
func allowN(t testing.TB, l *Limiter, key string, n int) Result {
	t.Helper()
	r, err := l.AllowN(context.Background(), key, n)
	if err != nil {
		t.Fatalf("AllowN(%q, %d): %v", key, n, err)
	}
	return r
}

// mustKey returns the Redis key a limiter of kind (keyspace.KindRateLog or
// keyspace.KindRateCount) uses for key.
func mustKey(t *testing.T, key, kind string) string {
	t.Helper()
	return keyspace.Derive(key, kind)
}

// 50 goroutines each try 10 calls on one key inside one window: exactly
// the limit gets through, everywhere (GCRA: and one more per interval the
// calls took, window / limit, 0.6 s here, reached on a slow run).
func TestConcurrent(t *testing.T) {
	const (
		limit      = 100
		goroutines = 50
		calls      = 10
	)
	forEachServer(t, func(t *testing.T, srv server) {
		for _, v := range variants {
			t.Run(v.name, func(t *testing.T) {
				ctx := context.Background()
				l := newTestLimiter(t, srv.c, limit, v.window, v.opts)
				key := testKey(t, "hot")
				var (
					allowed, denied atomic.Int64
					wg              sync.WaitGroup
					start           = make(chan struct{})
					errs            = make(chan error, goroutines*calls)
				)
				for range goroutines {
					wg.Go(func() {
						<-start
						for range calls {
							r, err := l.Allow(ctx, key)
							switch {
							case err != nil:
								errs <- err
							case r.Allowed:
								allowed.Add(1)
								if r.RetryAfter != 0 || r.Remaining < 0 || r.Remaining >= limit {
									errs <- fmt.Errorf("allowed call: %+v, want RetryAfter 0 and 0 <= Remaining < %d", r, limit)
								}
							default:
								denied.Add(1)
								if r.RetryAfter <= 0 || r.Remaining != 0 {
									errs <- fmt.Errorf("denied call: %+v, want RetryAfter > 0 and Remaining 0", r)
								}
							}
						}
					})
				}
				began := time.Now()
				close(start)
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				most := int64(limit)
				if v.opts == gcraOpts {
					most += int64(time.Since(began) / (v.window / limit))
				}
				if a, d := allowed.Load(), denied.Load(); a < limit || a > most || a+d != goroutines*calls {
					t.Errorf("allowed %d, denied %d; want %d (at most %d) of %d", a, d, limit, most, goroutines*calls)
				}
				r := allowN(t, l, key, 1)
				if r.Allowed || r.Remaining != 0 || r.RetryAfter <= 0 || r.RetryAfter > v.window ||
					r.ResetAfter < r.RetryAfter || r.ResetAfter > 2*v.window {
					t.Errorf("call after the burst: %+v; want denied, Remaining 0, 0 < RetryAfter <= ResetAfter <= 2*window", r)
				}
			})
		}
	})
}

// AllowN admits all n calls or none: a refused AllowN uses up nothing.
func TestAllowN(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		for _, v := range variants {
			t.Run(v.name, func(t *testing.T) {
				ctx := context.Background()
				l := newTestLimiter(t, srv.c, 10, v.window, v.opts)
				key := testKey(t, "n")
				steps := []struct {
					n             int
					allowed       bool
					wantRemaining int
				}{
					{7, true, 3},
					{4, false, 3}, // more than remain: refused, nothing used
					{3, true, 0},
					{10, false, 0},
					{1, false, 0},
				}
				for i, s := range steps {
					r := allowN(t, l, key, s.n)
					if r.Allowed != s.allowed || r.Remaining != s.wantRemaining {
						t.Errorf("step %d: AllowN(%d) = %+v, want Allowed %v, Remaining %d", i, s.n, r, s.allowed, s.wantRemaining)
					}
					if (r.RetryAfter > 0) == r.Allowed {
						t.Errorf("step %d: AllowN(%d) = %+v: RetryAfter must be 0 exactly when allowed", i, s.n, r)
					}
				}
				// What the server holds: 10 calls, not 10 + the refused 4 + 10 + 1.
				switch v.name {
				case "log":
					if got, err := srv.c.ZCard(ctx, mustKey(t, key, keyspace.KindRateLog)).Result(); err != nil || got != 10 {
						t.Errorf("ZCARD of the log = %d, %v; want 10", got, err)
					}
				case "counter":
					if got, err := srv.c.HGet(ctx, mustKey(t, key, keyspace.KindRateCount), "c").Int(); err != nil || got != 10 {
						t.Errorf("count in the counter = %d, %v; want 10", got, err)
					}
				case "gcra":
					// 10 intervals of 6 s ahead of the time of the calls
					// (less the little time the steps took).
					if r, err := l.Peek(ctx, key); err != nil || r.Remaining != 0 || r.ResetAfter <= 59*time.Second {
						t.Errorf("Peek = %+v, %v; want Remaining 0, ResetAfter about 60s", r, err)
					}
				}
			})
		}
	})
}

// Reset forgets a key's calls, for either kind of limiter, and only that
// key's.
func TestReset(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		ctx := context.Background()
		key, other := testKey(t, "reset"), testKey(t, "other")
		var limiters []*Limiter
		for _, v := range variants {
			l := newTestLimiter(t, srv.c, 5, v.window, v.opts)
			limiters = append(limiters, l)
			for _, k := range []string{key, other} {
				if r := allowN(t, l, k, 5); !r.Allowed {
					t.Fatalf("%s: first AllowN(5) refused: %+v", v.name, r)
				}
			}
		}
		// One Reset, by the log limiter, clears every kind.
		if err := limiters[0].Reset(ctx, key); err != nil {
			t.Fatal(err)
		}
		keys := []string{mustKey(t, key, keyspace.KindRateLog), mustKey(t, key, keyspace.KindRateCount), mustKey(t, key, keyspace.KindRateGCRA)}
		if n, err := srv.c.Exists(ctx, keys...).Result(); err != nil || n != 0 {
			t.Errorf("EXISTS %v after Reset = %d, %v; want 0", keys, n, err)
		}
		for i, l := range limiters {
			if r := allowN(t, l, key, 5); !r.Allowed || r.Remaining != 0 {
				t.Errorf("%s: AllowN(5) after Reset = %+v, want allowed with Remaining 0", variants[i].name, r)
			}
			if r := allowN(t, l, other, 1); r.Allowed {
				t.Errorf("%s: another key was reset too: %+v", variants[i].name, r)
			}
		}
		// Resetting a key never used is no error.
		if err := limiters[1].Reset(ctx, testKey(t, "unused")); err != nil {
			t.Errorf("Reset of an unused key: %v", err)
		}
	})
}

// Calls leave the window as real time passes, on real servers: a full key
// admits again once its first call is a window old, and waiting RetryAfter
// (or ResetAfter) is enough.
func TestSlidesRealTime(t *testing.T) {
	const (
		limit  = 5
		window = 200 * time.Millisecond
	)
	backends := map[string]func(t *testing.T) redis.UniversalClient{
		"redis":   func(t *testing.T) redis.UniversalClient { return testbackend.Real(t).Client },
		"cluster": func(t *testing.T) redis.UniversalClient { return testbackend.SharedCluster(t) },
	}
	for bname, client := range backends {
		t.Run(bname, func(t *testing.T) {
			t.Parallel()
			c := client(t)
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					l := newTestLimiter(t, c, limit, window, v.opts)
					key := testKey(t, "slide")
					begin := time.Now()
					for i := range limit {
						if r := allowN(t, l, key, 1); !r.Allowed {
							t.Fatalf("call %d refused: %+v", i, r)
						}
					}
					r := allowN(t, l, key, 1)
					if r.Allowed || r.RetryAfter <= 0 || r.RetryAfter > 2*window {
						t.Fatalf("call over the limit: %+v, want refused with 0 < RetryAfter <= %v", r, 2*window)
					}
					deadline := begin.Add(5 * time.Second)
					for !allowN(t, l, key, 1).Allowed {
						if time.Now().After(deadline) {
							t.Fatal("still refused 5 s after the first call")
						}
						time.Sleep(5 * time.Millisecond)
					}
					// The server admitted again only once the first call was
					// a window old on its clock; the client saw at least that.
					if v.name == "log" && time.Since(begin) < window {
						t.Errorf("admitted again %v after the first call, before the window (%v) passed", time.Since(begin), window)
					}

					// Waiting what a refusal says is enough.
					if r := allowN(t, l, key, limit); r.Allowed {
						t.Fatalf("AllowN(limit) on a used key admitted: %+v", r)
					} else {
						time.Sleep(r.RetryAfter)
						if r2 := allowN(t, l, key, limit); !r2.Allowed {
							t.Errorf("refused again after waiting RetryAfter %v: %+v", r.RetryAfter, r2)
						} else if r2.ResetAfter <= 0 {
							t.Errorf("ResetAfter %v after admitted calls", r2.ResetAfter)
						} else {
							time.Sleep(r2.ResetAfter)
							if r3 := allowN(t, l, key, 1); !r3.Allowed || r3.Remaining != limit-1 {
								t.Errorf("after waiting ResetAfter %v: %+v, want a clear window (Remaining %d)", r2.ResetAfter, r3, limit-1)
							}
						}
					}
				})
			}
		})
	}
}

// The counter's memory is constant; the log's grows with the calls in the
// window. Checked with MEMORY USAGE on real Redis (miniredis has none).
func TestMemory(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	usage := func(l *Limiter, suffix string, calls int) int64 {
		key := fmt.Sprintf("memory:%05d", calls) // keys of one length
		for done := 0; done < calls; done += 100 {
			allowN(t, l, key, min(100, calls-done))
		}
		n, err := b.Client.MemoryUsage(ctx, mustKey(t, key, suffix), 0).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	logL := newTestLimiter(t, b.Client, 10000, time.Hour, nil)
	counterL := newTestLimiter(t, b.Client, 10000, time.Hour, counterOpts)
	c10, c10000 := usage(counterL, keyspace.KindRateCount, 10), usage(counterL, keyspace.KindRateCount, 10000)
	l10, l1000 := usage(logL, keyspace.KindRateLog, 10), usage(logL, keyspace.KindRateLog, 1000)
	t.Logf("MEMORY USAGE: counter %d bytes after 10 calls, %d after 10000; log %d after 10, %d after 1000", c10, c10000, l10, l1000)
	if c10000 > c10+16 || c10000 > 200 {
		t.Errorf("counter uses %d bytes after 10 calls, %d after 10000; want at most 200 and 16 more", c10, c10000)
	}
	if l1000 < 50*1000 {
		t.Errorf("log of 1000 calls uses %d bytes, less than 50 per call: is it recording them?", l1000)
	}
}

// nilScripter is a caller's own client type, whose methods need a value.
type nilScripter struct{ redis.Scripter }

// Misuse is refused with typed errors before anything is sent. A typed nil
// of any client type (*redis.Tx, a caller's own) is ErrNilClient, never a
// panic.
func TestValidation(t *testing.T) {
	b := testbackend.Miniredis(t)
	ctx := context.Background()
	var nilClient *redis.Client
	ctors := []struct {
		name   string
		c      redis.Scripter
		limit  int
		window time.Duration
		opts   *Options
		want   error
	}{
		{"nil client", nil, 1, time.Second, nil, redislua.ErrNilClient},
		{"typed nil client", nilClient, 1, time.Second, nil, redislua.ErrNilClient},
		{"typed nil transaction", (*redis.Tx)(nil), 1, time.Second, nil, redislua.ErrNilClient},
		{"typed nil of a caller's type", (*nilScripter)(nil), 1, time.Second, nil, redislua.ErrNilClient},
		{"pipeline", b.Client.Pipeline(), 1, time.Second, nil, redislua.ErrPipeline},
		{"transaction pipeline", b.Client.TxPipeline(), 1, time.Second, counterOpts, redislua.ErrPipeline},
		{"zero limit", b.Client, 0, time.Second, nil, ErrInvalidLimit},
		{"negative limit", b.Client, -1, time.Second, nil, ErrInvalidLimit},
		{"limit past 2^53", b.Client, maxLimit + 1, time.Second, counterOpts, ErrInvalidLimit},
		{"zero window", b.Client, 1, 0, nil, ErrInvalidWindow},
		{"negative window", b.Client, 1, -time.Second, nil, ErrInvalidWindow},
		{"window under 1ms", b.Client, 1, time.Millisecond - time.Microsecond, counterOpts, ErrInvalidWindow},
		{"unknown algorithm", b.Client, 1, time.Second, &Options{Algorithm: GCRA + 1}, ErrInvalidAlgorithm},
		{"burst without GCRA", b.Client, 10, time.Second, &Options{Burst: 5}, ErrInvalidLimit},
		{"negative GCRA burst", b.Client, 10, time.Second, &Options{Algorithm: GCRA, Burst: -1}, ErrInvalidLimit},
		{"GCRA burst * period past 2^52", b.Client, 10, MaxWindow, &Options{Algorithm: GCRA, Burst: 20}, ErrInvalidLimit},
		{"negative algorithm", b.Client, 1, time.Second, &Options{Algorithm: -1}, ErrInvalidAlgorithm},
	}
	for _, c := range ctors {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: New panicked: %v; want %v", c.name, p, c.want)
				}
			}()
			l, err := New(c.c, c.limit, c.window, c.opts)
			if !errors.Is(err, c.want) || l != nil {
				t.Errorf("%s: New = %v, %v; want nil, %v", c.name, l, err, c.want)
			}
		}()
	}
	for _, c := range []struct {
		opts *Options
		want Algorithm
	}{
		{nil, SlidingLog},
		{&Options{}, SlidingLog},
		{&Options{Algorithm: SlidingLog}, SlidingLog},
		{counterOpts, SlidingCounter},
		{&Options{Algorithm: GCRA}, GCRA},
	} {
		if l := newTestLimiter(t, b.Client, 1, time.Second, c.opts); l.Algorithm() != c.want {
			t.Errorf("New with %+v: Algorithm() = %v, want %v", c.opts, l.Algorithm(), c.want)
		}
	}
	if l, err := New(b.Client, maxLimit, time.Millisecond, counterOpts); err != nil || l.Limit() != maxLimit || l.Window() != time.Millisecond {
		t.Errorf("New at the bounds = %v, %v", l, err)
	}
	if l := newTestLimiter(t, b.Client, 1, 1500*time.Nanosecond+time.Millisecond, nil); l.Window() != time.Millisecond+time.Microsecond {
		t.Errorf("Window() = %v, want the window truncated to microseconds", l.Window())
	}

	l := newTestLimiter(t, b.Client, 10, time.Second, nil)
	calls := []struct {
		name string
		call func() error
		want error
	}{
		{"empty key", func() error { _, err := l.Allow(ctx, ""); return err }, redislua.ErrEmptyKey},
		{"negative n", func() error { _, err := l.AllowN(ctx, "k", -1); return err }, ErrInvalidCount},
		{"negative n, at most", func() error { _, err := l.AllowAtMost(ctx, "k", -1); return err }, ErrInvalidCount},
		{"per-call limit of 0", func() error { _, err := l.AllowWith(ctx, "k", Limit{Period: time.Second}, 1); return err }, ErrInvalidLimit},
		{"per-call burst on the log", func() error {
			_, err := l.AllowWith(ctx, "k", Limit{Rate: 5, Period: time.Second, Burst: 2}, 1)
			return err
		}, ErrInvalidLimit},
		{"per-call period of 0", func() error { _, err := l.AllowAtMostWith(ctx, "k", Limit{Rate: 5}, 1); return err }, ErrInvalidWindow},
		{"n over a per-call limit", func() error { _, err := l.AllowWith(ctx, "k", PerSecond(3), 4); return err }, ErrInvalidCount},
		{"n over the limit", func() error { _, err := l.AllowN(ctx, "k", 11); return err }, ErrInvalidCount},
		{"Reset of an empty key", func() error { return l.Reset(ctx, "") }, redislua.ErrEmptyKey},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// A key of the library's own form could be another limiter's state.
	if _, err := l.Allow(ctx, mustKey(t, "k", keyspace.KindRateLog)); !errors.Is(err, redislua.ErrReservedKey) {
		t.Errorf("Allow(a derived key) = %v, want redislua.ErrReservedKey", err)
	}
	if sent := b.Sent.Take(); len(sent) != 0 {
		t.Errorf("commands sent by refused calls: %v", sent)
	}
}

// An Algorithm names itself in errors and %v, also when out of range.
func TestAlgorithmString(t *testing.T) {
	for a, want := range map[Algorithm]string{
		SlidingLog:     "sliding log",
		SlidingCounter: "sliding counter",
		GCRA:           "gcra",
		GCRA + 1:       "Algorithm(3)",
	} {
		if got := a.String(); got != want {
			t.Errorf("Algorithm(%d).String() = %q, want %q", int(a), got, want)
		}
	}
}

// Windows the scripts cannot time exactly are refused before anything is
// sent; the longest accepted one gives exact, non-negative results on a
// real server, for both limiters.
func TestWindowBounds(t *testing.T) {
	b := testbackend.Miniredis(t)
	for _, w := range []time.Duration{MaxWindow + time.Microsecond, math.MaxInt64} {
		for _, v := range variants {
			if l, err := New(b.Client, 1, w, v.opts); !errors.Is(err, ErrInvalidWindow) {
				t.Errorf("%s: New(window %v) = %v, %v; want ErrInvalidWindow", v.name, w, l, err)
			}
		}
	}
	if sent := b.Sent.Take(); len(sent) != 0 {
		t.Errorf("commands sent by refused constructors: %v", sent)
	}

	r := testbackend.Real(t)
	for _, v := range variants {
		l := newTestLimiter(t, r.Client, 2, MaxWindow, v.opts)
		key := testKey(t, v.name)
		first := allowN(t, l, key, 2)
		if !first.Allowed || first.Remaining != 0 || first.ResetAfter <= 0 {
			t.Errorf("%s: AllowN(2) at MaxWindow = %+v, want allowed, Remaining 0, ResetAfter > 0", v.name, first)
		}
		got := allowN(t, l, key, 1)
		if got.Allowed || got.Remaining != 0 || got.RetryAfter <= 0 || got.RetryAfter > got.ResetAfter || got.ResetAfter > 2*MaxWindow {
			t.Errorf("%s: call over the limit at MaxWindow = %+v, want refused, 0 < RetryAfter <= ResetAfter <= 2 windows", v.name, got)
		}
		// The log's wait is exact: the first calls leave a window after
		// they were made, which was at most a few seconds ago.
		if v.name == "log" && (got.RetryAfter > MaxWindow || got.RetryAfter < MaxWindow-5*time.Second || got.ResetAfter != got.RetryAfter) {
			t.Errorf("log: call over the limit at MaxWindow = %+v, want RetryAfter = ResetAfter, just under %v", got, MaxWindow)
		}
	}
}

// replyScripter answers every script with one reply, as a server that
// misbehaves (or a future script) might.
type replyScripter struct {
	redis.Scripter
	reply []any
}

func (s replyScripter) EvalSha(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return redis.NewCmdResult(s.reply, nil)
}

// Whatever the scripts answer, a result is never negative: Remaining is
// between 0 and the limit, RetryAfter is 0 when allowed and positive when
// refused, ResetAfter is at least 0, and durations too long for a
// time.Duration are capped rather than wrapped.
func TestResultNeverNegative(t *testing.T) {
	huge := int64(math.MaxInt64 / 10) // µs: overflows as nanoseconds
	cases := []struct {
		reply []any
		want  Result
	}{
		{[]any{int64(0), int64(-3), int64(-5), int64(-7)}, Result{Allowed: false, Remaining: 0, RetryAfter: time.Microsecond, ResetAfter: 0}},
		{[]any{int64(0), int64(0), int64(0), int64(0)}, Result{Allowed: false, Remaining: 0, RetryAfter: time.Microsecond, ResetAfter: 0}},
		{[]any{int64(1), int64(-1), int64(-5), int64(-7)}, Result{Allowed: true, Admitted: 1, Remaining: 0, RetryAfter: 0, ResetAfter: 0}},
		{[]any{int64(1), int64(11), int64(5), int64(7)}, Result{Allowed: true, Admitted: 1, Remaining: 10, RetryAfter: 0, ResetAfter: 7 * time.Microsecond}},
		{[]any{int64(0), int64(2), huge, huge}, Result{Allowed: false, Remaining: 2, RetryAfter: math.MaxInt64, ResetAfter: math.MaxInt64}},
	}
	for _, v := range variants {
		for _, c := range cases {
			l := newTestLimiter(t, replyScripter{reply: c.reply}, 10, time.Second, v.opts)
			if got := allowN(t, l, "k", 1); got != c.want {
				t.Errorf("%s: reply %v gives %+v, want %+v", v.name, c.reply, got, c.want)
			}
		}
	}
}

// The Limit helpers are redis_rate's: a rate per period, bursts of the
// rate; String reads as redis_rate's.
func TestLimitHelpers(t *testing.T) {
	for _, c := range []struct {
		lim  Limit
		want Limit
		text string
	}{
		{PerSecond(10), Limit{Rate: 10, Period: time.Second, Burst: 10}, "10 req/s (burst 10)"},
		{PerMinute(5), Limit{Rate: 5, Period: time.Minute, Burst: 5}, "5 req/m (burst 5)"},
		{PerHour(100), Limit{Rate: 100, Period: time.Hour, Burst: 100}, "100 req/h (burst 100)"},
		{Limit{Rate: 3, Period: 2 * time.Second}, Limit{Rate: 3, Period: 2 * time.Second}, "3 req/2s (burst 3)"},
	} {
		if c.lim != c.want || c.lim.String() != c.text {
			t.Errorf("%+v (%q), want %+v (%q)", c.lim, c.lim.String(), c.want, c.text)
		}
	}
}
