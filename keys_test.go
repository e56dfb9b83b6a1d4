package redislua

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/testbackend"
)

// A user key equal to a key the library derives is refused before anything
// is sent, whatever the primitive: otherwise a transfer to its own ID
// record moved 40 into the record and lost it (packages transfer and cas
// check their calls in their own tests).
func TestReservedKeysAreRefusedBeforeSending(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	from := "{b}:a"
	b.client.Set(ctx, from, 100, 0)
	b.sent.Take()

	lockFence := keyspace.Derive("job", kindFence)
	calls := map[string]func() error{
		"Lock on another lock's fence counter": func() error {
			return NewLock(b.client, lockFence, nil).Acquire(ctx)
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrReservedKey) {
			t.Errorf("%s: %v, want ErrReservedKey", name, err)
		}
		if sent := b.sent.Take(); len(sent) != 0 {
			t.Errorf("%s: sent %v, want nothing", name, sent)
		}
	}
	wantValue(t, b.client, from, str("100"))
	if n := b.client.DBSize(ctx).Val(); n != 1 {
		t.Errorf("DBSIZE = %d, want 1: a refused call wrote", n)
	}
}

// Distinct user keys never share derived state: the fence counter is its
// own, on a server and on a cluster (packages cas, transfer and ratelimit
// check fence records, transfer ID records and a limiter's budget).
func TestDerivedStateIsNotShared(t *testing.T) {
	clients := map[string]redis.UniversalClient{
		"redis":   realRedis(t).client,
		"cluster": sharedCluster(t),
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			for _, p := range testbackend.SharedStatePairs {
				a, b := p[0], p[1]
				for _, k := range p {
					cleanDerived(t, c, k)
				}
				// Locks: a acquired twice gets fences 1 and 2; b then starts at 1.
				for i, want := range []int64{1, 2} {
					if got := acquireFence(t, c, a); got != want {
						t.Errorf("%q: acquisition %d fence = %d, want %d", a, i+1, got, want)
					}
				}
				if got := acquireFence(t, c, b); got != 1 {
					t.Errorf("%q after %q: fence = %d, want 1: they share a fence counter", b, a, got)
				}
				for _, k := range p {
					cleanDerived(t, c, k)
				}
			}
		})
	}
}

// Every derived key hashes to its user key's slot, as the cluster itself
// computes it (CLUSTER KEYSLOT).
func TestDerivedKeysShareTheUserKeysSlot(t *testing.T) {
	cc := sharedCluster(t)
	ctx := context.Background()
	node, err := cc.MasterForKey(ctx, "any")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range testbackend.SharedStatePairs {
		for _, k := range p {
			want := node.ClusterKeySlot(ctx, k).Val()
			for _, d := range []string{
				keyspace.Derive(k, kindFence), keyspace.Derive(k, kindReleased), keyspace.Derive(k, kindFenced),
				keyspace.Derive(k, kindRateLog), keyspace.Derive(k, kindRateCount),
				keyspace.DeriveWith(k, kindTransferID, "order:{7}"),
			} {
				if got, err := node.ClusterKeySlot(ctx, d).Result(); err != nil || got != want {
					t.Errorf("CLUSTER KEYSLOT %q = %d, %v; want %d, the slot of %q", d, got, err, want, k)
				}
			}
		}
	}
}

// acquireFence acquires and releases a lock on key and returns its fence.
func acquireFence(t *testing.T, c LockClient, key string) int64 {
	t.Helper()
	ctx := context.Background()
	l := NewLock(c, key, &LockOptions{TTL: 5 * time.Second})
	if err := l.Acquire(ctx); err != nil {
		t.Fatalf("Acquire(%q): %v", key, err)
	}
	fence := l.Fence()
	if err := l.Release(ctx); err != nil {
		t.Fatalf("Release(%q): %v", key, err)
	}
	return fence
}

// cleanDerived deletes key and every key the primitives derive from it.
func cleanDerived(t *testing.T, c redis.UniversalClient, key string) {
	t.Helper()
	ctx := context.Background()
	for _, k := range []string{
		key, keyspace.Derive(key, kindFence), keyspace.Derive(key, kindFenced),
		keyspace.Derive(key, kindRateLog), keyspace.Derive(key, kindRateCount),
		keyspace.DeriveWith(key, kindTransferID, "id-1"),
	} {
		if err := c.Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
}
