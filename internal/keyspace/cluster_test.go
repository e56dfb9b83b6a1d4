package keyspace_test

import (
	"context"
	"testing"

	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/testbackend"
)

// Every derived key hashes to its user key's slot, as the cluster itself
// computes it (CLUSTER KEYSLOT).
func TestDerivedKeysShareTheUserKeysSlot(t *testing.T) {
	cc := testbackend.SharedCluster(t)
	ctx := context.Background()
	node, err := cc.MasterForKey(ctx, "any")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range testbackend.SharedStatePairs {
		for _, k := range p {
			want := node.ClusterKeySlot(ctx, k).Val()
			for _, d := range []string{
				keyspace.Derive(k, keyspace.KindFence), keyspace.Derive(k, keyspace.KindReleased), keyspace.Derive(k, keyspace.KindFenced),
				keyspace.Derive(k, keyspace.KindRateLog), keyspace.Derive(k, keyspace.KindRateCount), keyspace.Derive(k, keyspace.KindRateGCRA),
				keyspace.DeriveWith(k, keyspace.KindTransferID, "order:{7}"),
			} {
				if got, err := node.ClusterKeySlot(ctx, d).Result(); err != nil || got != want {
					t.Errorf("CLUSTER KEYSLOT %q = %d, %v; want %d, the slot of %q", d, got, err, want, k)
				}
			}
		}
	}
}
