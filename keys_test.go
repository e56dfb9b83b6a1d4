package redislua

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/testbackend"
)

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
