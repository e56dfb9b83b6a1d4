package redistest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartReplica starts a redis-server that replicates master (--replicaof),
// as Start does, and waits until the master streams writes to it: its link
// is up, and a write on the master reaches it (WAIT). After a diskless
// sync, Redis 7 starts the stream only on the replica's first REPLCONF
// ACK, up to a second after it lists the replica online, and a WAIT in
// that second times out.
func StartReplica(tb testing.TB, master *Server, extraArgs ...string) *Server {
	tb.Helper()
	args := append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(master.Port)}, extraArgs...)
	r := Start(tb, args...)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	err := waitLinkUp(ctx, r)
	if err == nil {
		err = waitStreaming(ctx, master)
	}
	if err != nil {
		tb.Fatalf("redistest: replica %s of %s: %v", r.Addr, master.Addr, err)
	}
	return r
}

// waitStreaming writes and deletes a key on master and waits (WAIT, on the
// same connection) until every replica it lists acknowledged both: with
// one acknowledgement, a second replica's StartReplica returned on the
// first replica's.
func waitStreaming(ctx context.Context, master *Server) error {
	opts := master.options()
	opts.PoolSize = 1
	c := redis.NewClient(opts)
	defer c.Close()
	const key = "redistest:replica-sync"
	for {
		want, err := connectedReplicas(ctx, c)
		var n int64
		if err == nil {
			pipe := c.Pipeline()
			pipe.Set(ctx, key, "1", 0)
			pipe.Del(ctx, key)
			wait := redis.NewIntCmd(ctx, "wait", want, 100)
			_ = pipe.Process(ctx, wait)
			_, _ = pipe.Exec(ctx)
			n, err = wait.Result()
		}
		if err == nil && want >= 1 && n >= want {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("%d of %d replicas acknowledged a write", n, want)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last check: %w", ctx.Err(), err)
		case <-time.After(pollInterval):
		}
	}
}

// connectedReplicas returns how many replicas the master lists
// (connected_slaves in INFO replication).
func connectedReplicas(ctx context.Context, c *redis.Client) (int64, error) {
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_slaves:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("no connected_slaves in INFO replication")
}
