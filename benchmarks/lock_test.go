package benchmarks

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bsm/redislock"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/lock"
)

const (
	lockTTL   = 30 * time.Second      // both libraries' locks
	lockRetry = 10 * time.Millisecond // the linear retry of the hand-off
)

// lockImpl is a lock library's acquire+release cycle on one key, and a
// blocking acquire that signals once it waits.
type lockImpl struct {
	name string
	// cycle acquires the key without waiting and releases it.
	cycle func(ctx context.Context, key string) error
	// holder acquires the key and returns its release.
	holder func(ctx context.Context, key string) (release func(context.Context) error, err error)
	// waiter blocks until it acquires the key, retrying every lockRetry;
	// it closes waiting once its first attempt has failed and it sleeps
	// (for redislua, once it is also subscribed to the release channel),
	// and returns the release of the lock it got.
	waiter func(ctx context.Context, key string, waiting chan<- struct{}) (release func(context.Context) error, err error)
}

// lockImpls returns redislua's lock, redislock's, and redislua's without
// fencing tokens (lock.Options.NoFence), in that order.
func lockImpls(c *redis.Client) []lockImpl {
	rl := redislock.New(c)
	return []lockImpl{
		redisluaLock(c, "redislua", false),
		{
			name: "redislock",
			cycle: func(ctx context.Context, key string) error {
				l, err := rl.Obtain(ctx, key, lockTTL, nil)
				if err != nil {
					return err
				}
				return l.Release(ctx)
			},
			holder: func(ctx context.Context, key string) (func(context.Context) error, error) {
				l, err := rl.Obtain(ctx, key, lockTTL, nil)
				if err != nil {
					return nil, err
				}
				return l.Release, nil
			},
			waiter: func(ctx context.Context, key string, waiting chan<- struct{}) (func(context.Context) error, error) {
				retry := &signalBackoff{RetryStrategy: redislock.LinearBackoff(lockRetry), waiting: waiting}
				l, err := rl.Obtain(ctx, key, lockTTL, &redislock.Options{RetryStrategy: retry})
				if err != nil {
					return nil, err
				}
				return l.Release, nil
			},
		},
		redisluaLock(c, "redislua-nofence", true),
	}
}

// redisluaLock is redislua's lock, with or without fencing tokens.
func redisluaLock(c *redis.Client, name string, noFence bool) lockImpl {
	return lockImpl{
		name: name,
		cycle: func(ctx context.Context, key string) error {
			l, err := lock.New(c, key, &lock.Options{TTL: lockTTL, NoFence: noFence})
			if err != nil {
				return err
			}
			if err := l.Acquire(ctx); err != nil {
				return err
			}
			return l.Release(ctx)
		},
		holder: func(ctx context.Context, key string) (func(context.Context) error, error) {
			l, err := lock.New(c, key, &lock.Options{TTL: lockTTL, NoFence: noFence})
			if err != nil {
				return nil, err
			}
			ok, err := l.TryAcquire(ctx)
			if err == nil && !ok {
				err = lock.ErrNotAcquired
			}
			return l.Release, err
		},
		waiter: func(ctx context.Context, key string, waiting chan<- struct{}) (func(context.Context) error, error) {
			// Acquire asks for a backoff after its first failed attempt,
			// subscribes, retries at once and asks again (attempt 2):
			// from then on a release wakes it.
			retry := &signalRetry{RetryStrategy: lock.LinearRetry(lockRetry), at: 2, waiting: waiting}
			l, err := lock.New(c, key, &lock.Options{TTL: lockTTL, Retry: retry, NoFence: noFence})
			if err != nil {
				return nil, err
			}
			return l.Release, l.Acquire(ctx)
		},
	}
}

// signalRetry is a lock.RetryStrategy that closes waiting when asked for
// the backoff after attempt at.
type signalRetry struct {
	lock.RetryStrategy
	at      int
	waiting chan<- struct{}
}

func (r *signalRetry) Backoff(attempt int) (time.Duration, bool) {
	if attempt == r.at {
		close(r.waiting)
	}
	return r.RetryStrategy.Backoff(attempt)
}

// signalBackoff is a redislock.RetryStrategy that closes waiting when
// asked for its first backoff.
type signalBackoff struct {
	redislock.RetryStrategy
	calls   int
	waiting chan<- struct{}
}

func (r *signalBackoff) NextBackoff() time.Duration {
	if r.calls++; r.calls == 1 {
		close(r.waiting)
	}
	return r.RetryStrategy.NextBackoff()
}

// BenchmarkLock measures an uncontended acquire+release (two round trips
// in both libraries), with and without fencing tokens, against
// bsm/redislock's Obtain+Release (target 4),
// with a new lock object per cycle as each library's examples do: from
// one goroutine, and from 64 goroutines each on its own key.
func BenchmarkLock(b *testing.B) {
	srv, c := standalone(b, goroutines)
	info := newClient(b, srv.Addr, 1)
	ctx := context.Background()
	for _, impl := range lockImpls(c) {
		b.Run("goroutines=1/impl="+impl.name, func(b *testing.B) {
			b.ReportAllocs()
			key := "bench:lock:" + impl.name + ":{single}"
			m, n := startCPU(b, info), 0
			for b.Loop() {
				if err := impl.cycle(ctx, key); err != nil {
					b.Fatal(err)
				}
				n++
			}
			m.report(b, n, 0)
		})
	}
	for _, impl := range lockImpls(c) {
		b.Run("goroutines=64/impl="+impl.name, func(b *testing.B) {
			b.ReportAllocs()
			setGoroutines(b, goroutines)
			var n atomic.Int64
			m := startCPU(b, info)
			b.RunParallel(func(pb *testing.PB) {
				key := "bench:lock:" + impl.name + ":{" + strconv.FormatInt(n.Add(1), 10) + "}"
				for pb.Next() {
					if err := impl.cycle(ctx, key); err != nil {
						b.Error(err)
						return
					}
				}
			})
			m.report(b, b.N, 0)
		})
	}
}

// BenchmarkLockContended measures acquire+release cycles of 4 goroutines
// per core, each with its own Lock, all on one key: every Acquire but one
// waits, woken by the release before it (or by its default exponential
// retry), so this is the hand-off's throughput under load.
func BenchmarkLockContended(b *testing.B) {
	_, c := standalone(b, 0)
	ctx := context.Background()
	for _, noFence := range []bool{false, true} {
		name := "impl=redislua"
		if noFence {
			name += "-nofence"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(4)
			key := "bench:lock:contended:" + name
			b.RunParallel(func(pb *testing.PB) {
				l, err := lock.New(c, key, &lock.Options{TTL: lockTTL, NoFence: noFence})
				if err != nil {
					b.Error(err)
					return
				}
				for pb.Next() {
					if err := l.Acquire(ctx); err != nil {
						b.Error(err)
						return
					}
					if err := l.Release(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// handOff makes one hand-off of a key from a holder to a blocked waiter
// and returns its latency: from the holder's release to the waiter's
// acquire returning. The holder releases at a random moment of the
// waiter's 10 ms retry period, after the waiter has failed once and waits,
// so that a polling waiter's latency is spread over the period as it is
// in a real program.
func handOff(ctx context.Context, impl lockImpl, key string) (time.Duration, error) {
	release, err := impl.holder(ctx, key)
	if err != nil {
		return 0, err
	}
	waiting := make(chan struct{})
	type result struct {
		at      time.Time
		release func(context.Context) error
		err     error
	}
	done := make(chan result, 1)
	go func() {
		rel, err := impl.waiter(ctx, key, waiting)
		done <- result{time.Now(), rel, err}
	}()
	select {
	case <-waiting:
	case r := <-done:
		return 0, errors.Join(errors.New("the waiter returned before it waited"), r.err)
	}
	time.Sleep(rand.N(lockRetry))
	start := time.Now()
	if err := release(ctx); err != nil {
		return 0, err
	}
	r := <-done
	if r.err != nil {
		return 0, r.err
	}
	return r.at.Sub(start), r.release(ctx)
}

// BenchmarkLockHandOff measures the latency of handing a lock over from
// its holder to a waiter blocked in Acquire (redislua: woken by the
// release's PUBLISH) or in Obtain (redislock: polling every 10 ms), with
// the same 10 ms linear retry in both (target 4). It reports the median
// and the 99th percentile in µs; ns/op is dominated by the random wait
// before each release and means nothing here.
func BenchmarkLockHandOff(b *testing.B) {
	_, c := standalone(b, 0)
	ctx := context.Background()
	for _, impl := range lockImpls(c) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			key := "bench:handoff:" + impl.name
			var lat []time.Duration
			for b.Loop() {
				d, err := handOff(ctx, impl, key)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, d)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(percentile(lat, 50).Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(percentile(lat, 99).Nanoseconds())/1e3, "p99-µs")
		})
	}
}

// BenchmarkLockHandOffShared is BenchmarkLockHandOff's redislua hand-off
// while another Acquire on the same client waits throughout (for a key
// held meanwhile): the client's pub/sub connection, shared by its
// waiters, stays open, and each waiter joins it instead of opening one.
func BenchmarkLockHandOffShared(b *testing.B) {
	_, c := standalone(b, 0)
	ctx := context.Background()
	stop := waitElsewhere(b, c, "bench:handoff:elsewhere")
	defer stop()
	impl := redisluaLock(c, "redislua", false)
	var lat []time.Duration
	for b.Loop() {
		d, err := handOff(ctx, impl, "bench:handoff:shared")
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 50).Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(percentile(lat, 99).Nanoseconds())/1e3, "p99-µs")
}

// waitElsewhere has an Acquire on c wait for key, held meanwhile, until
// the returned function is called.
func waitElsewhere(tb testing.TB, c *redis.Client, key string) (stop func()) {
	tb.Helper()
	ctx := context.Background()
	waiting := make(chan struct{})
	holder, err := lock.New(c, key, &lock.Options{TTL: lockTTL, AutoRefresh: true})
	if err != nil {
		tb.Fatal(err)
	}
	retry := &signalRetry{RetryStrategy: lock.LinearRetry(time.Minute), at: 2, waiting: waiting}
	waiter, err := lock.New(c, key, &lock.Options{TTL: lockTTL, Retry: retry})
	if err != nil {
		tb.Fatal(err)
	}
	if err := holder.Acquire(ctx); err != nil {
		tb.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = waiter.Acquire(wctx)
	}()
	<-waiting
	return func() {
		cancel()
		<-done
		_ = holder.Release(ctx)
	}
}

// percentile returns the p-th percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted) + 99) / 100 // ceil(p/100 * n), 1-based
	return sorted[max(i, 1)-1]
}

func TestLockImpls(t *testing.T) {
	_, c := standalone(t, 0)
	ctx := context.Background()
	for _, impl := range lockImpls(c) {
		key := "test:lock:" + impl.name
		if err := impl.cycle(ctx, key); err != nil {
			t.Fatalf("%s: cycle: %v", impl.name, err)
		}
		if n, err := c.Exists(ctx, key).Result(); err != nil || n != 0 {
			t.Errorf("%s: key exists after release: %d, %v", impl.name, n, err)
		}
		d, err := handOff(ctx, impl, key)
		if err != nil {
			t.Fatalf("%s: hand-off: %v", impl.name, err)
		}
		if d <= 0 || d > lockTTL {
			t.Errorf("%s: hand-off latency %v, want between 0 and the TTL", impl.name, d)
		}
		t.Logf("%s: one hand-off in %v", impl.name, d)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := range 100 {
		d = append(d, time.Duration(i+1))
	}
	for _, c := range []struct{ p, want int }{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := percentile(d, c.p); got != time.Duration(c.want) {
			t.Errorf("percentile(1..100, %d) = %d, want %d", c.p, got, c.want)
		}
	}
	if got := percentile(d[:1], 99); got != 1 {
		t.Errorf("percentile of one value = %d, want 1", got)
	}
}
