package failover

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/cas"
	"github.com/redislua/redislua/lock"
	"github.com/redislua/redislua/lua"
	"github.com/redislua/redislua/transfer"
)

// This file is the only one that names a primitive's API (lock, transfer,
// compare-and-set): the tests call these adapters, so that moving a
// primitive to another package changes this file alone.

// The lock's errors, for failoverErrorClass and the fencing test.
var (
	errNotAcquired = lock.ErrNotAcquired
	errNotHeld     = lock.ErrNotHeld
)

// testLock is a lock on one key, with the calls the tests make.
type testLock struct{ l *lock.Lock }

// newLock returns a lock on key. ttl 0 means the default TTL; retryEvery,
// when not 0, makes Acquire retry at that fixed interval. It fails t on a
// constructor error.
func newLock(t *testing.T, c *redis.Client, key string, ttl, retryEvery time.Duration) *testLock {
	t.Helper()
	var opts *lock.Options
	if ttl != 0 || retryEvery != 0 {
		opts = &lock.Options{TTL: ttl}
		if retryEvery != 0 {
			opts.Retry = lock.LinearRetry(retryEvery)
		}
	}
	l, err := lock.New(c, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &testLock{l}
}

func (l *testLock) tryAcquire(ctx context.Context) (bool, error) { return l.l.TryAcquire(ctx) }
func (l *testLock) acquire(ctx context.Context) error            { return l.l.Acquire(ctx) }
func (l *testLock) release(ctx context.Context) error            { return l.l.Release(ctx) }

// refresh extends the current acquisition by the lock's TTL.
func (l *testLock) refresh(ctx context.Context) error { return l.l.Refresh(ctx, 0) }

// fence is the current acquisition's fencing token.
func (l *testLock) fence() int64 { return l.l.Fence() }

// lost is closed once the lock counts its acquisition lost.
func (l *testLock) lost() <-chan struct{} { return l.l.Lost() }

// believesHeld reports whether the lock still believes it holds its key.
func (l *testLock) believesHeld() bool { return l.l.Token() != "" }

// fenceKey is the key of the lock's fence counter.
func (l *testLock) fenceKey() string { return lock.FenceKey(l.l.Key()) }

// fencedSet writes value to key unless a write with a higher fence came
// first; it reports whether it wrote.
func fencedSet(ctx context.Context, c redis.Scripter, key, value string, fence int64) (bool, error) {
	return cas.FencedSet(ctx, c, key, value, fence)
}

// moved is the outcome of a transfer: the two balances after it, and
// whether this call moved the amount.
type moved struct {
	From, To int64
	Applied  bool
}

// move moves amount from one balance to another, with no ID.
func move(ctx context.Context, c redis.Scripter, from, to string, amount int64) (moved, error) {
	res, err := transfer.Move(ctx, c, from, to, amount)
	return moved{res.From, res.To, res.Applied}, err
}

// transferOnce moves amount once per id, with the default record TTL.
func transferOnce(ctx context.Context, c redis.Scripter, from, to string, amount int64, id string) (moved, error) {
	res, err := transfer.MoveOnce(ctx, c, from, to, amount, id, nil)
	return moved{res.From, res.To, res.Applied}, err
}

// transferRecordKey is the key in which transferOnce records id.
func transferRecordKey(from, id string) string { return transfer.RecordKey(from, id) }

// prebuilt holds the library's own scripts, to ask a server whether it
// has them cached (Script.Exists compares SHA1s).
var prebuilt = func() *redislua.Registry {
	reg, err := redislua.NewRegistry(lua.FS, &redislua.RegistryOptions{ClusterChecks: true})
	if err != nil {
		panic(err)
	}
	return reg
}()

// transferScript and lockAcquireScript are the scripts transfer,
// transferOnce and a lock's acquisition run.
var (
	transferScript    = prebuilt.MustScript("transfer/transfer")
	lockAcquireScript = prebuilt.MustScript("lock/acquire")
)
