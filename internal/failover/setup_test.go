package failover

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// failoverClient returns a client that asks setup's sentinels for the
// master. It does not retry (MaxRetries -1): every error reaches the
// caller, which decides whether to retry, so that nothing is sent twice
// behind its back, and short timeouts make calls to the dead master fail
// fast. poolSize 0 means go-redis's default.
func failoverClient(t *testing.T, setup *redistest.SentinelSetup, poolSize int) *redis.Client {
	t.Helper()
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    setup.MasterName,
		SentinelAddrs: setup.SentinelAddrs(),
		MaxRetries:    -1,
		DialTimeout:   200 * time.Millisecond,
		ReadTimeout:   500 * time.Millisecond,
		WriteTimeout:  500 * time.Millisecond,
		PoolTimeout:   time.Second,
		PoolSize:      poolSize,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// clusterClient returns a client of c that, like failoverClient, neither
// retries nor follows redirects: every error reaches the caller, and
// go-redis never sends a script twice on its own.
//
// go-redis v9.23 reloads a ClusterClient's slot map on MOVED, ASK and
// READONLY replies and every ClusterStateReloadInterval, not on connection
// errors: with the default interval (60 s) it keeps sending the dead
// master's slots to the dead address for up to a minute. This client
// reloads every 500ms, which needs no coordination with the workload (a
// ReloadState call would have to come from whoever notices the failover).
func clusterClient(t *testing.T, c *redistest.Cluster) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                      c.Addrs(),
		ClusterStateReloadInterval: 500 * time.Millisecond,
		MaxRedirects:               -1,
		MaxRetries:                 -1,
		DialTimeout:                200 * time.Millisecond,
		ReadTimeout:                500 * time.Millisecond,
		WriteTimeout:               500 * time.Millisecond,
	})
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// killMaster kills setup's master and returns the address of the master
// every sentinel reports after it.
func killMaster(t *testing.T, setup *redistest.SentinelSetup) string {
	t.Helper()
	old := setup.Master.Addr
	setup.Master.Kill()
	return setup.WaitForNewMaster(t, old, 30*time.Second)
}

// cutOffReplica makes sure that from now on nothing setup's master writes
// reaches its replica: the master refuses it PSYNC and SYNC and drops its
// link, as a lagging replica would be left behind.
func cutOffReplica(t *testing.T, setup *redistest.SentinelSetup) {
	t.Helper()
	ctx := context.Background()
	master := setup.Master.Client(t)
	if err := master.Do(ctx, "ACL", "SETUSER", "default", "-psync", "-sync").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := master.Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Int(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL TYPE replica = %d, %v; want 1", n, err)
	}
}

// checkAnsweredByReplica waits until each client answers again and fails
// t unless the answer comes from setup's first replica, the new master.
func checkAnsweredByReplica(t *testing.T, setup *redistest.SentinelSetup, clients ...*redis.Client) {
	t.Helper()
	for _, c := range clients {
		waitReachable(t, c)
		if port := serverPort(t, c); port != setup.Replicas[0].Port {
			t.Fatalf("failover client answered by port %d, want the new master's %d", port, setup.Replicas[0].Port)
		}
	}
}

// waitReachable pings c until it answers, so that a client used before a
// failover has dropped its connections to the dead master before a check.
func waitReachable(t *testing.T, c *redis.Client) {
	t.Helper()
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err = c.Ping(context.Background()).Err(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("client not reachable 10s after the failover: %v", err)
}

// serverPort returns the port of the server c is connected to (INFO
// server), to tell which process answers.
func serverPort(t *testing.T, c *redis.Client) int {
	t.Helper()
	return int(infoField(t, c, "server", "tcp_port"))
}

// waitReplicas sends WAIT 1 on c and returns how many replicas
// acknowledged the writes of c's connection within timeout.
func waitReplicas(t *testing.T, c interface {
	Do(context.Context, ...any) *redis.Cmd
}, timeout time.Duration) int {
	t.Helper()
	n, err := c.Do(context.Background(), "WAIT", 1, timeout.Milliseconds()).Int()
	if err != nil {
		t.Fatalf("WAIT: %v", err)
	}
	return n
}

// waitCaughtUp polls until replica has received everything master wrote so
// far (its replication offset reaches the master's).
func waitCaughtUp(t *testing.T, master, replica *redistest.Server) {
	t.Helper()
	want := infoField(t, master.Client(t), "replication", "master_repl_offset")
	rc := replica.Client(t)
	waitFor(t, 10*time.Second, "the replica to catch up", func() bool {
		return infoField(t, rc, "replication", "slave_repl_offset") >= want
	})
}

// infoField returns the integer field of INFO section on c.
func infoField(t *testing.T, c *redis.Client, section, field string) int64 {
	t.Helper()
	info, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("INFO %s of %s has no %s:\n%s", section, c.Options().Addr, field, info)
	return 0
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
