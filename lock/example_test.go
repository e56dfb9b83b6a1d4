package lock_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/lock"
)

// A lock guards work that only one process may do at a time.
func ExampleNew() {
	ctx := context.Background()
	mr, err := miniredis.Run() // an embedded Redis; use your own client instead
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	l, err := lock.New(rdb, "report:{2024-06}", &lock.Options{TTL: 10 * time.Second})
	if err != nil {
		panic(err) // a nil client, an empty key, or bad Options
	}
	if err := l.Acquire(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("holding", l.Key(), "with fence", l.Fence())
	// ... build the report, passing l.Fence() to the storage ...
	fmt.Println(l.Release(ctx))
	// Output:
	// holding report:{2024-06} with fence 1
	// <nil>
}

// New checks its arguments before anything is sent, and says what is
// wrong with them.
func ExampleNew_invalidOptions() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	_, err = lock.New(rdb, "job", &lock.Options{TTL: time.Millisecond})
	fmt.Println(errors.Is(err, lock.ErrInvalidTTL))
	_, err = lock.New(rdb, "job", &lock.Options{RefreshInterval: time.Second}) // without AutoRefresh
	fmt.Println(errors.Is(err, lock.ErrInvalidOptions))
	// Output:
	// true
	// true
}

// Acquire waits while another holder has the lock; when its context ends
// first, the error is both ErrNotAcquired and the context's error.
func ExampleLock_Acquire() {
	ctx := context.Background()
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	holder, _ := lock.New(rdb, "job", nil) // fixed, valid arguments: no error
	if err := holder.Acquire(ctx); err != nil {
		panic(err)
	}
	ctx2, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	other, _ := lock.New(rdb, "job", nil)
	err = other.Acquire(ctx2)
	fmt.Println(errors.Is(err, lock.ErrNotAcquired), errors.Is(err, context.DeadlineExceeded))

	// A release hands the lock over to a waiter at once.
	waiter, _ := lock.New(rdb, "job", nil)
	got := make(chan error)
	go func() { got <- waiter.Acquire(ctx) }()
	holder.Release(ctx)
	fmt.Println(<-got, waiter.Fence())
	// Output:
	// true true
	// <nil> 2
}

// TryAcquire makes one attempt and reports whether it got the lock.
func ExampleLock_TryAcquire() {
	ctx := context.Background()
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	a, _ := lock.New(rdb, "cron:cleanup", nil)
	b, _ := lock.New(rdb, "cron:cleanup", nil)
	fmt.Println(a.TryAcquire(ctx))
	fmt.Println(b.TryAcquire(ctx))
	// Output:
	// true <nil>
	// false <nil>
}

// A holder whose lock expired gets ErrNotHeld, and the next holder's lock
// is left alone.
func ExampleLock_Release() {
	ctx := context.Background()
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	old, _ := lock.New(rdb, "job", nil)
	old.Acquire(ctx)
	rdb.Del(ctx, "job") // as if its TTL ran out
	next, _ := lock.New(rdb, "job", nil)
	next.Acquire(ctx)

	err = old.Release(ctx)
	fmt.Println(errors.Is(err, lock.ErrNotHeld))
	fmt.Println(rdb.Get(ctx, "job").Val() == next.Token())
	// Output:
	// true
	// true
}

// Refresh extends a held lock; TTL reads what is left.
func ExampleLock_Refresh() {
	ctx := context.Background()
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	l, _ := lock.New(rdb, "job", &lock.Options{TTL: 5 * time.Second})
	l.Acquire(ctx)
	fmt.Println(l.Refresh(ctx, time.Minute))
	fmt.Println(l.TTL(ctx)) // miniredis's clock stands still
	// Output:
	// <nil>
	// 1m0s <nil>
}

// Each acquisition of a key gets a larger fencing token. Storage that
// remembers the largest fence it saw can refuse a late holder's writes.
func ExampleLock_Fence() {
	ctx := context.Background()
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	l, _ := lock.New(rdb, "{invoice-42}", nil)
	for range 3 {
		l.Acquire(ctx)
		fmt.Print(l.Fence(), " ")
		l.Release(ctx)
	}
	fmt.Println(rdb.Get(ctx, lock.FenceKey("{invoice-42}")).Val())
	// Output: 1 2 3 3
}

// FenceKey names the counter a lock keeps next to its key, in the key's
// cluster slot; it never expires.
func ExampleFenceKey() {
	fmt.Println(lock.FenceKey("job"))
	fmt.Println(lock.FenceKey("app:{u1}:job"))
	// Output:
	// job{job}redislua:fence
	// app:{u1}:job{}redislua:fence
}

// With NoFence a lock leaves nothing in Redis once released, where a
// fenced lock keeps its fence counter forever: the choice for locks on
// many short-lived names, such as one per order.
func ExampleOptions_noFence() {
	ctx := context.Background()
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	l, _ := lock.New(rdb, "order:{8812}", &lock.Options{NoFence: true})
	if err := l.Acquire(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("holding", l.Key(), "with fence", l.Fence())
	fmt.Println(l.Release(ctx))
	fmt.Println(rdb.DBSize(ctx).Val(), "keys left")
	// Output:
	// holding order:{8812} with fence 0
	// <nil>
	// 0 keys left
}

// With AutoRefresh a watchdog keeps the lock alive while it is held, and
// reports a lost lock through Lost and OnLost.
func ExampleLock_Lost() {
	ctx := context.Background()
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	reported := make(chan error, 1)
	l, _ := lock.New(rdb, "job", &lock.Options{
		TTL:         300 * time.Millisecond, // refreshed every 100ms
		AutoRefresh: true,
		OnLost:      func(err error) { reported <- err }, // called just after Lost closes
	})
	l.Acquire(ctx)
	rdb.Del(ctx, "job") // deleted behind the holder's back
	<-l.Lost()
	fmt.Println("OnLost:", errors.Is(<-reported, lock.ErrNotHeld))
	fmt.Println(errors.Is(l.Release(ctx), lock.ErrNotHeld))
	// Output:
	// OnLost: true
	// true
}

// NoRetry makes Acquire give up after one attempt.
func ExampleNoRetry() {
	ctx := context.Background()
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	holder, _ := lock.New(rdb, "job", nil)
	holder.Acquire(ctx)
	l, _ := lock.New(rdb, "job", &lock.Options{Retry: lock.NoRetry()})
	fmt.Println(l.Acquire(ctx))
	// Output: lock: not acquired: lock "job" is held by another holder
}

// LinearRetry polls at a fixed interval; a release still wakes the waiter
// at once.
func ExampleLinearRetry() {
	d, retry := lock.LinearRetry(100 * time.Millisecond).Backoff(5)
	fmt.Println(d, retry)
	// Output: 100ms true
}

// ExponentialRetry doubles the wait up to a maximum, with jitter.
func ExampleExponentialRetry() {
	r := lock.ExponentialRetry(10*time.Millisecond, time.Second)
	first, _ := r.Backoff(1) // in [5ms, 10ms]
	later, _ := r.Backoff(4) // 80ms, jittered: in [40ms, 80ms]
	last, _ := r.Backoff(20) // capped: in [500ms, 1s]
	fmt.Println(first >= 5*time.Millisecond && first <= 10*time.Millisecond)
	fmt.Println(later >= 40*time.Millisecond && later <= 80*time.Millisecond)
	fmt.Println(last >= 500*time.Millisecond && last <= time.Second)
	// Output:
	// true
	// true
	// true
}

// LimitRetry bounds the number of attempts.
func ExampleLimitRetry() {
	ctx := context.Background()
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	holder, _ := lock.New(rdb, "job", nil)
	holder.Acquire(ctx)
	retry := lock.LimitRetry(lock.LinearRetry(time.Millisecond), 3) // 4 attempts
	l, _ := lock.New(rdb, "job", &lock.Options{Retry: retry})
	err = l.Acquire(ctx)
	fmt.Println(errors.Is(err, lock.ErrNotAcquired))
	// Output: true
}
