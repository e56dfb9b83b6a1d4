package redislua

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// A Release that fails before reaching Redis leaves the key held; the Lock
// keeps the token, so Release again, or Acquire, releases it instead of
// leaving it to its TTL.
func TestLockReleaseAfterAnError(t *testing.T) {
	refused := errors.New("connection refused (simulated)")
	setup := func(t *testing.T, b backend, key string) *Lock {
		ctx := context.Background()
		if err := lockRelease.Load(ctx, b.client); err != nil {
			t.Fatal(err)
		}
		hook := &scriptFault{sha: lockRelease.SHA(), err: refused}
		b.client.AddHook(hook)
		l := NewLock(b.client, key, nil)
		if err := l.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		hook.remaining.Store(1)
		if err := l.Release(ctx); !errors.Is(err, refused) || errors.Is(err, ErrNotHeld) {
			t.Fatalf("Release: %v, want the connection error", err)
		}
		if n := b.client.Exists(ctx, key).Val(); n != 1 {
			t.Fatalf("the key is gone though the release never reached Redis")
		}
		return l
	}
	t.Run("release again", func(t *testing.T) {
		forEachBackend(t, func(t *testing.T, b backend) {
			ctx := context.Background()
			const key = "lock-test:{release-again}"
			l := setup(t, b, key)
			if err := l.Release(ctx); err != nil {
				t.Fatalf("second Release: %v", err)
			}
			if n := b.client.Exists(ctx, key).Val(); n != 0 {
				t.Fatal("the key is still held after the second Release")
			}
			if err := l.Release(ctx); !errors.Is(err, ErrNotHeld) {
				t.Fatalf("third Release: %v, want ErrNotHeld", err)
			}
		})
	})
	t.Run("acquire again", func(t *testing.T) {
		forEachBackend(t, func(t *testing.T, b backend) {
			ctx := context.Background()
			const key = "lock-test:{acquire-again}"
			l := setup(t, b, key)
			old := l.Token()
			ok, err := l.TryAcquire(ctx)
			if err != nil || !ok {
				t.Fatalf("TryAcquire after the failed Release = %v, %v; want the lock at once", ok, err)
			}
			if got := b.client.Get(ctx, key).Val(); got == old || got != l.Token() {
				t.Fatalf("key holds %q, want the new token %q (old %q)", got, l.Token(), old)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("acquire while releasing still fails", func(t *testing.T) {
		// The release Acquire sends first fails as well: its attempts find
		// the key held by the Lock's own earlier token, and each sends
		// the release again, rather than waiting for that token's TTL.
		forEachBackend(t, func(t *testing.T, b backend) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			const key = "lock-test:{acquire-release-fails}"
			if err := lockRelease.Load(ctx, b.client); err != nil {
				t.Fatal(err)
			}
			hook := &scriptFault{sha: lockRelease.SHA(), err: refused}
			b.client.AddHook(hook)
			l := NewLock(b.client, key, &LockOptions{Retry: LinearRetry(10 * time.Millisecond)})
			if err := l.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			hook.remaining.Store(2) // Release, then the release Acquire sends first
			if err := l.Release(ctx); !errors.Is(err, refused) {
				t.Fatalf("Release: %v, want the connection error", err)
			}
			start := time.Now()
			if err := l.Acquire(ctx); err != nil {
				t.Fatalf("Acquire: %v, want the lock once a release gets through", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("Acquire took %v, want well under the %v TTL of the unreleased token", d, DefaultLockTTL)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("release reached Redis", func(t *testing.T) {
		// The release ran but its reply was lost: Release again finds
		// the key gone and says so.
		forEachBackend(t, func(t *testing.T, b backend) {
			ctx := context.Background()
			const key = "lock-test:{release-lost-reply}"
			lost := errors.New("connection reset (simulated)")
			if err := lockRelease.Load(ctx, b.client); err != nil {
				t.Fatal(err)
			}
			l := NewLock(b.client, key, nil)
			if err := l.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			hook := &scriptFault{sha: lockRelease.SHA(), err: lost, afterSending: true}
			hook.remaining.Store(1)
			b.client.AddHook(hook)
			if err := l.Release(ctx); !errors.Is(err, lost) {
				t.Fatalf("Release: %v, want the connection error", err)
			}
			if n := b.client.Exists(ctx, key).Val(); n != 0 {
				t.Fatal("the release ran, yet the key exists")
			}
			if err := l.Release(ctx); !errors.Is(err, ErrNotHeld) || errors.Is(err, lost) {
				t.Fatalf("second Release: %v, want ErrNotHeld", err)
			}
		})
	})
}

// An acquiring attempt that ran but whose reply was lost is released at
// once (see TestLockAcquireReleasesAfterALostReply). When that release
// fails too, the Lock keeps the token as after a failed Release: Release,
// or the next Acquire, sends it again instead of leaving the key held by
// a token nobody will release until its TTL.
func TestLockAbandonedAttemptAfterAFailedRelease(t *testing.T) {
	lost := errors.New("connection reset (simulated)")
	refused := errors.New("connection refused (simulated)")
	setup := func(t *testing.T, b backend, key string) *Lock {
		ctx := context.Background()
		for _, s := range []*Script{lockAcquire, lockRelease} {
			if err := s.Load(ctx, b.client); err != nil {
				t.Fatal(err)
			}
		}
		acquireFault := &scriptFault{sha: lockAcquire.SHA(), err: lost, afterSending: true}
		releaseFault := &scriptFault{sha: lockRelease.SHA(), err: refused}
		acquireFault.remaining.Store(1)
		releaseFault.remaining.Store(1)
		b.client.AddHook(acquireFault)
		b.client.AddHook(releaseFault)
		l := NewLock(b.client, key, nil)
		if err := l.Acquire(ctx); !errors.Is(err, lost) {
			t.Fatalf("Acquire: %v, want the connection error", err)
		}
		if n := b.client.Exists(ctx, key).Val(); n != 1 {
			t.Fatal("the key is gone though its release never reached Redis")
		}
		return l
	}
	t.Run("release", func(t *testing.T) {
		forEachBackend(t, func(t *testing.T, b backend) {
			ctx := context.Background()
			const key = "lock-test:{abandoned-release}"
			l := setup(t, b, key)
			if err := l.Release(ctx); err != nil {
				t.Fatalf("Release after the failed Acquire: %v, want nil: it released the attempt's key", err)
			}
			if n := b.client.Exists(ctx, key).Val(); n != 0 {
				t.Fatal("the key is still held after Release")
			}
		})
	})
	t.Run("acquire", func(t *testing.T) {
		forEachBackend(t, func(t *testing.T, b backend) {
			ctx := context.Background()
			l := setup(t, b, "lock-test:{abandoned-acquire}")
			ok, err := l.TryAcquire(ctx)
			if err != nil || !ok {
				t.Fatalf("TryAcquire after the failed Acquire = %v, %v; want the lock at once", ok, err)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// scriptFault is a hook that fails the next `remaining` EVALSHA commands
// of script sha with err: without sending them, as a refused connection
// would, or, with afterSending, after they ran, as a connection lost
// before the reply would.
type scriptFault struct {
	sha          string
	err          error
	afterSending bool
	remaining    atomic.Int32
}

func (*scriptFault) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *scriptFault) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if len(args) < 2 || cmd.Name() != "evalsha" || args[1] != h.sha || h.remaining.Add(-1) < 0 {
			return next(ctx, cmd)
		}
		if h.afterSending {
			if err := next(ctx, cmd); err != nil {
				return err
			}
		}
		cmd.SetErr(h.err)
		return h.err
	}
}

func (*scriptFault) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
