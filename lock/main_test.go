package lock

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
)

// TestMain stops the Redis Cluster that tests share (started on first use
// by testbackend.SharedCluster) after all tests ran.
func TestMain(m *testing.M) { redistest.Main(m) }

// mustNew returns New's Lock, failing the test on an error.
func mustNew(t testing.TB, c Client, key string, opts *Options) *Lock {
	t.Helper()
	l, err := New(c, key, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", key, err)
	}
	return l
}

// waitFor polls cond every few milliseconds until it holds, and fails the
// test if it does not within d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// numSub returns how many clients subscribe to channel: on a cluster, on
// all of its nodes.
func numSub(t *testing.T, c redis.UniversalClient, channel string) int64 {
	t.Helper()
	ctx := context.Background()
	var total atomic.Int64
	each := func(ctx context.Context, node *redis.Client) error {
		n, err := node.PubSubNumSub(ctx, channel).Result()
		total.Add(n[channel])
		return err
	}
	var err error
	switch c := c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachShard(ctx, each)
	case *redis.Ring:
		err = c.ForEachShard(ctx, each)
	case *redis.Client:
		err = each(ctx, c)
	default:
		t.Fatalf("numSub: unexpected client %T", c)
	}
	if err != nil {
		t.Fatalf("PUBSUB NUMSUB: %v", err)
	}
	return total.Load()
}

// uniqueKey returns a key no earlier run used, for the shared cluster,
// where fence counters outlive a test.
func uniqueKey(prefix string) string {
	return prefix + strconv.FormatInt(time.Now().UnixNano(), 36)
}

// appUserRules limit an ACL user to keys and channels under app: (which
// cover the fence counter and the channel a lock derives from its key, as
// they begin with it), to the scripting commands, and to the data
// commands the scripts call: Redis 7 checks ACLs for commands called
// inside scripts too. docs/lock.md lists them for users.
var appUserRules = []string{
	"~app:*", "&app:*",
	"+@read", "+@write", "-@dangerous",
	"+eval", "+evalsha", "+eval_ro", "+evalsha_ro", "+script|load", "+script|exists",
	"+publish", "+subscribe", "+unsubscribe", "+time", "+ping",
}

// replicated starts a master with one replica and returns them with a
// client of the master that records the commands it sends.
func replicated(t *testing.T) (master, replica *redistest.Server, b testbackend.Backend) {
	t.Helper()
	master = redistest.Start(t)
	replica = redistest.StartReplica(t, master)
	return master, replica, testbackend.Open(t, "redis", master.Addr, true)
}
