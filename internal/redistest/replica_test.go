package redistest

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Each StartReplica returns once the master streams writes to that
// replica, not to any one: with a second replica, a WAIT for two right
// after it returned timed out (the first replica's acknowledgement was
// enough for the readiness check).
func TestStartReplicaWaitsForItself(t *testing.T) {
	master := Start(t)
	ctx := context.Background()
	for want := int64(1); want <= 2; want++ {
		StartReplica(t, master)
		c := master.Client(t)
		pipe := c.Pipeline()
		pipe.Set(ctx, "replica-test", want, 0)
		wait := redis.NewIntCmd(ctx, "wait", want, 200)
		_ = pipe.Process(ctx, wait)
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if n := wait.Val(); n != want {
			t.Fatalf("WAIT %d right after StartReplica = %d", want, n)
		}
	}
}
