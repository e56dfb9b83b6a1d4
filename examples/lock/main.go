// Command lock shows the distributed lock of package
// github.com/redislua/redislua/lock at work: workers taking turns under
// one lock, each acquisition with a larger fencing token, a release
// handing the lock to a waiter at once, an expired holder unable to
// release the next holder's lock, and a watchdog that keeps a lock alive
// and reports its loss.
//
// It uses the Redis at REDIS_ADDR (host:port) when that is set, and an
// embedded miniredis otherwise:
//
//	go run ./examples/lock
//	REDIS_ADDR=127.0.0.1:6379 go run ./examples/lock
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/lock"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer) error {
	rdb, where, closeAll, err := connect()
	if err != nil {
		return err
	}
	defer closeAll()
	fmt.Fprintln(out, "using", where)

	const (
		counterKey  = "lock-example:{counter}"
		handOffKey  = "lock-example:handoff"
		expiredKey  = "lock-example:expired"
		watchdogKey = "lock-example:watchdog"
	)
	// Fence counters never expire: start from 1 on every run.
	clean := []string{counterKey + ":count"}
	for _, key := range []string{counterKey, handOffKey, expiredKey, watchdogKey} {
		clean = append(clean, key, lock.FenceKey(key))
	}
	if err := rdb.Del(ctx, clean...).Err(); err != nil {
		return err
	}
	defer rdb.Del(context.Background(), clean...)

	if err := takeTurns(ctx, out, rdb, counterKey); err != nil {
		return err
	}
	if err := handOff(ctx, out, rdb, handOffKey); err != nil {
		return err
	}
	if err := expiredHolder(ctx, out, rdb, expiredKey); err != nil {
		return err
	}
	return watchdog(ctx, out, rdb, watchdogKey)
}

// takeTurns has four workers increment a counter with a non-atomic GET and
// SET under the lock: no update is lost.
func takeTurns(ctx context.Context, out io.Writer, rdb *redis.Client, key string) error {
	const workers, each = 4, 25
	counter := key + ":count" // same hash tag, same cluster slot
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		errs   []error
		fences []int64
	)
	for range workers {
		l, err := lock.New(rdb, key, nil) // one Lock per competing goroutine
		if err != nil {
			return err
		}
		wg.Go(func() {
			for range each {
				if err := increment(ctx, rdb, l, counter, &mu, &fences); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	n, err := rdb.Get(ctx, counter).Int()
	if err != nil {
		return err
	}
	increasing := true
	for i := 1; i < len(fences); i++ {
		increasing = increasing && fences[i] > fences[i-1]
	}
	fmt.Fprintf(out, "%d workers x %d increments under the lock: counter %d; fences %d..%d, strictly increasing: %v\n",
		workers, each, n, fences[0], fences[len(fences)-1], increasing)
	return nil
}

func increment(ctx context.Context, rdb *redis.Client, l *lock.Lock, counter string, mu *sync.Mutex, fences *[]int64) error {
	if err := l.Acquire(ctx); err != nil {
		return err
	}
	n, err := rdb.Get(ctx, counter).Int()
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	mu.Lock()
	*fences = append(*fences, l.Fence())
	mu.Unlock()
	if err := rdb.Set(ctx, counter, n+1, 0).Err(); err != nil {
		return err
	}
	return l.Release(ctx)
}

// handOff shows a release waking a waiter whose retry interval is long:
// the holder's TTL is a minute, and the waiter polls every hour (at most
// every TTL), so only the release can hand it the lock within 10s.
func handOff(ctx context.Context, out io.Writer, rdb *redis.Client, key string) error {
	holder, err := lock.New(rdb, key, &lock.Options{TTL: time.Minute})
	if err != nil {
		return err
	}
	if err := holder.Acquire(ctx); err != nil {
		return err
	}
	holderFence := holder.Fence()
	waiter, err := lock.New(rdb, key, &lock.Options{Retry: lock.LinearRetry(time.Hour)})
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got := make(chan error, 1)
	go func() { got <- waiter.Acquire(wctx) }()
	time.Sleep(100 * time.Millisecond) // the waiter is now waiting
	if err := holder.Release(ctx); err != nil {
		return err
	}
	if err := <-got; err != nil {
		return fmt.Errorf("the release did not wake the waiter: %w", err)
	}
	fmt.Fprintf(out, "hand-off: a waiter polling every hour got the lock at the release, fence %d after %d\n",
		waiter.Fence(), holderFence)
	return waiter.Release(ctx)
}

// expiredHolder shows that a holder whose lock expired cannot release the
// next holder's lock.
func expiredHolder(ctx context.Context, out io.Writer, rdb *redis.Client, key string) error {
	old, err := lock.New(rdb, key, &lock.Options{TTL: 50 * time.Millisecond})
	if err != nil {
		return err
	}
	if err := old.Acquire(ctx); err != nil {
		return err
	}
	rdb.Del(ctx, key) // as if the 50ms had passed (miniredis's clock stands still)
	next, err := lock.New(rdb, key, nil)
	if err != nil {
		return err
	}
	if err := next.Acquire(ctx); err != nil {
		return err
	}
	err = old.Release(ctx)
	fmt.Fprintln(out, "expired holder's Release:", err)
	held := rdb.Get(ctx, key).Val() == next.Token()
	fmt.Fprintln(out, "the next holder still holds the lock:", held)
	return next.Release(ctx)
}

// watchdog shows AutoRefresh keeping a short lock alive and reporting its
// loss when the key is deleted behind its back.
func watchdog(ctx context.Context, out io.Writer, rdb *redis.Client, key string) error {
	reported := make(chan error, 1) // OnLost is called just after Lost closes
	l, err := lock.New(rdb, key, &lock.Options{
		TTL:         200 * time.Millisecond, // refreshed every 66ms
		AutoRefresh: true,
		OnLost:      func(err error) { reported <- err },
	})
	if err != nil {
		return err
	}
	if err := l.Acquire(ctx); err != nil {
		return err
	}
	// Two and a half TTLs. (miniredis's clock stands still, so there the
	// lock would live on without the watchdog; on a real Redis it would not.)
	time.Sleep(500 * time.Millisecond)
	ttl, err := l.TTL(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "after 500ms the 200ms lock is still held: %v\n", ttl > 0)
	rdb.Del(ctx, key)
	select {
	case <-l.Lost():
	case <-time.After(5 * time.Second):
		return errors.New("the watchdog did not notice the deleted lock")
	}
	fmt.Fprintln(out, "watchdog reported:", <-reported)
	fmt.Fprintln(out, "Release after the loss:", l.Release(ctx))
	return nil
}

// connect returns a client of REDIS_ADDR, or of an embedded miniredis.
func connect() (*redis.Client, string, func(), error) {
	if addr := os.Getenv("REDIS_ADDR"); addr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		return rdb, "Redis at " + addr, func() { rdb.Close() }, nil
	}
	m, err := miniredis.Run()
	if err != nil {
		return nil, "", nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	return rdb, "an embedded miniredis (set REDIS_ADDR to use a real Redis)", func() { rdb.Close(); m.Close() }, nil
}
