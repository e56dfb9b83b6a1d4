package redislua

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/redislua/redislua/internal/keyspace"
)

// Without fencing, a lock creates and reads no fence key: nothing is left
// in Redis after Release, and Fence is 0.
func TestLockNoFenceKeepsNoFenceKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const key = "lock-test:{nofence}"
		l := NewLock(b.client, key, &LockOptions{NoFence: true})
		for i := range 3 {
			if err := l.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			if f := l.Fence(); f != 0 {
				t.Errorf("acquisition %d: Fence() = %d, want 0", i+1, f)
			}
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := b.client.DBSize(ctx).Result(); err != nil || n != 0 {
			keys, _ := b.client.Keys(ctx, "*").Result()
			t.Errorf("DBSIZE after three acquisitions and releases = %d (%v), want 0: keys %q", n, err, keys)
		}
		// A fenced lock on the same key still counts from 1.
		fenced := NewLock(b.client, key, nil)
		if err := fenced.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		if f := fenced.Fence(); f != 1 {
			t.Errorf("fenced lock after unfenced ones: Fence() = %d, want 1", f)
		}
		// And the two kinds exclude each other.
		if ok, err := l.TryAcquire(ctx); ok || err != nil {
			t.Errorf("unfenced TryAcquire while the fenced lock holds the key = %v, %v; want false, nil", ok, err)
		}
	})
}

// A resent attempt (its first reply lost) finds its own token and holds
// the lock again with a fresh TTL, as with the fenced script; another
// token is refused with the lock's PTTL.
func TestLockNoFenceAcquireScriptIsIdempotentForOneToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		keys := []string{"lock-test:{nofence-resend}"}
		for i, ttl := range []string{"30000", "60000"} {
			got, err := lockAcquireUnfenced.Run(ctx, b.client, keys, "tok", ttl).Slice()
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != "[1 0]" {
				t.Errorf("attempt %d replied %v, want [1 0]", i+1, got)
			}
		}
		if ms := b.client.PTTL(ctx, keys[0]).Val().Milliseconds(); ms <= 30000 || ms > 60000 {
			t.Errorf("PTTL after the resent attempt = %dms, want the resent attempt's 60000ms", ms)
		}
		got, err := lockAcquireUnfenced.Run(ctx, b.client, keys, "other", "60000").Slice()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != int64(0) || got[1].(int64) <= 30000 || got[1].(int64) > 60000 {
			t.Errorf("another token's attempt replied %v, want [0 pttl]", got)
		}
		if v := b.client.Get(ctx, keys[0]).Val(); v != "tok" {
			t.Errorf("lock holds %q after another token's attempt, want tok", v)
		}
	})
}

// An error while acquiring, after the script ran, must not leave the lock
// held by a token nobody knows.
func TestLockNoFenceAcquireReleasesAfterALostReply(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const key = "lock-test:{nofence-lost-reply}"
		lost := errors.New("connection reset (simulated)")
		if err := lockAcquireUnfenced.Load(ctx, b.client); err != nil {
			t.Fatal(err)
		}
		b.client.AddHook(failAfterSending{name: "evalsha", sha: lockAcquireUnfenced.SHA(), err: lost})
		l := NewLock(b.client, key, &LockOptions{NoFence: true})
		if err := l.Acquire(ctx); !errors.Is(err, lost) || errors.Is(err, ErrNotAcquired) {
			t.Fatalf("Acquire: got %v, want the connection error", err)
		}
		if n := b.client.Exists(ctx, key).Val(); n != 0 {
			t.Errorf("the lock key exists after a failed Acquire: the attempt's lock was not released")
		}
	})
}

// Mutual exclusion and the hand-off by PUBLISH do not depend on fences.
// On real Redis: the hand-off counts subscribers, and the goroutines
// contend for real.
func TestLockNoFenceMutualExclusionAndHandOff(t *testing.T) {
	b := realRedis(t)
	opts := &LockOptions{NoFence: true}
	t.Run("mutex", func(t *testing.T) {
		testMutualExclusion(t, b.client, "lock-test:{nofence-mutex}", opts, 16, 200)
	})
	t.Run("handoff", func(t *testing.T) {
		testHandOff(t, b.client, "lock-test:{nofence-handoff}", opts)
	})
	if n, err := b.client.Exists(context.Background(), keyspace.Derive("lock-test:{nofence-mutex}", kindFence), keyspace.Derive("lock-test:{nofence-handoff}", kindFence)).Result(); err != nil || n != 0 {
		t.Errorf("EXISTS of the fence keys = %d, %v; want 0", n, err)
	}
}
