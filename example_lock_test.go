package redislua_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redislua/redislua"
)

// A lock guards work that only one process may do at a time.
func ExampleNewLock() {
	ctx := context.Background()
	rdb, done := newClient()
	defer done()

	lock := redislua.NewLock(rdb, "report:{2024-06}", &redislua.LockOptions{TTL: 10 * time.Second})
	if err := lock.Acquire(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("holding", lock.Key(), "with fence", lock.Fence())
	// ... build the report, passing lock.Fence() to the storage ...
	fmt.Println(lock.Release(ctx))
	// Output:
	// holding report:{2024-06} with fence 1
	// <nil>
}

// Acquire waits while another holder has the lock; when its context ends
// first, the error is both ErrNotAcquired and the context's error.
func ExampleLock_Acquire() {
	ctx := context.Background()
	rdb, done := newClient()
	defer done()

	holder := redislua.NewLock(rdb, "job", nil)
	if err := holder.Acquire(ctx); err != nil {
		panic(err)
	}
	ctx2, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err := redislua.NewLock(rdb, "job", nil).Acquire(ctx2)
	fmt.Println(errors.Is(err, redislua.ErrNotAcquired), errors.Is(err, context.DeadlineExceeded))

	// A release hands the lock over to a waiter at once.
	waiter := redislua.NewLock(rdb, "job", nil)
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
	rdb, done := newClient()
	defer done()

	a := redislua.NewLock(rdb, "cron:cleanup", nil)
	b := redislua.NewLock(rdb, "cron:cleanup", nil)
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
	rdb, done := newClient()
	defer done()

	old := redislua.NewLock(rdb, "job", nil)
	old.Acquire(ctx)
	rdb.Del(ctx, "job") // as if its TTL ran out
	next := redislua.NewLock(rdb, "job", nil)
	next.Acquire(ctx)

	err := old.Release(ctx)
	fmt.Println(errors.Is(err, redislua.ErrNotHeld))
	fmt.Println(rdb.Get(ctx, "job").Val() == next.Token())
	// Output:
	// true
	// true
}

// Refresh extends a held lock; TTL reads what is left.
func ExampleLock_Refresh() {
	ctx := context.Background()
	rdb, done := newClient()
	defer done()

	lock := redislua.NewLock(rdb, "job", &redislua.LockOptions{TTL: 5 * time.Second})
	lock.Acquire(ctx)
	fmt.Println(lock.Refresh(ctx, time.Minute))
	fmt.Println(lock.TTL(ctx)) // miniredis's clock stands still
	// Output:
	// <nil>
	// 1m0s <nil>
}

// Each acquisition of a key gets a larger fencing token. Storage that
// remembers the largest fence it saw can refuse a late holder's writes.
func ExampleLock_Fence() {
	ctx := context.Background()
	rdb, done := newClient()
	defer done()

	lock := redislua.NewLock(rdb, "{invoice-42}", nil)
	for range 3 {
		lock.Acquire(ctx)
		fmt.Print(lock.Fence(), " ")
		lock.Release(ctx)
	}
	fmt.Println(rdb.Get(ctx, "{invoice-42}{}redislua:fence").Val())
	// Output: 1 2 3 3
}

// With NoFence a lock leaves nothing in Redis once released, where a
// fenced lock keeps its fence counter forever: the choice for locks on
// many short-lived names, such as one per order.
func ExampleLockOptions_noFence() {
	ctx := context.Background()
	rdb, done := newClient()
	defer done()

	lock := redislua.NewLock(rdb, "order:{8812}", &redislua.LockOptions{NoFence: true})
	if err := lock.Acquire(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("holding", lock.Key(), "with fence", lock.Fence())
	fmt.Println(lock.Release(ctx))
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
	rdb, done := newClient()
	defer done()

	reported := make(chan error, 1)
	lock := redislua.NewLock(rdb, "job", &redislua.LockOptions{
		TTL:         300 * time.Millisecond, // refreshed every 100ms
		AutoRefresh: true,
		OnLost:      func(err error) { reported <- err }, // called just after Lost closes
	})
	lock.Acquire(ctx)
	rdb.Del(ctx, "job") // deleted behind the holder's back
	<-lock.Lost()
	fmt.Println("OnLost:", errors.Is(<-reported, redislua.ErrNotHeld))
	fmt.Println(errors.Is(lock.Release(ctx), redislua.ErrNotHeld))
	// Output:
	// OnLost: true
	// true
}

// NoRetry makes Acquire give up after one attempt.
func ExampleNoRetry() {
	ctx := context.Background()
	rdb, done := newClient()
	defer done()

	redislua.NewLock(rdb, "job", nil).Acquire(ctx)
	err := redislua.NewLock(rdb, "job", &redislua.LockOptions{Retry: redislua.NoRetry()}).Acquire(ctx)
	fmt.Println(err)
	// Output: redislua: lock not acquired: lock "job" is held by another holder
}

// LinearRetry polls at a fixed interval; a release still wakes the waiter
// at once.
func ExampleLinearRetry() {
	d, retry := redislua.LinearRetry(100 * time.Millisecond).Backoff(5)
	fmt.Println(d, retry)
	// Output: 100ms true
}

// ExponentialRetry doubles the wait up to a maximum, with jitter.
func ExampleExponentialRetry() {
	r := redislua.ExponentialRetry(10*time.Millisecond, time.Second)
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
	rdb, done := newClient()
	defer done()

	redislua.NewLock(rdb, "job", nil).Acquire(ctx)
	retry := redislua.LimitRetry(redislua.LinearRetry(time.Millisecond), 3) // 4 attempts
	err := redislua.NewLock(rdb, "job", &redislua.LockOptions{Retry: retry}).Acquire(ctx)
	fmt.Println(errors.Is(err, redislua.ErrNotAcquired))
	// Output: true
}
