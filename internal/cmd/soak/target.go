package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/redistest"
)

// persistArgs make every acknowledged write survive a restart, including
// a SIGKILL: the AOF is written and fsynced before a reply goes out. The
// harness's defaults (no RDB, no AOF) would start a restarted server
// empty, which the balance and counter checks cannot tell from a lost
// write; with these the checks hold across restarts and catch a write
// that was acknowledged and lost.
var persistArgs = []string{"--appendonly", "yes", "--appendfsync", "always"}

// target is what the workers and the fault injector act on: one
// standalone server, or a cluster of three masters.
type target struct {
	name   string
	client redis.UniversalClient
	// nodes are the servers faults hit: the server, or the masters.
	nodes []*redistest.Server
	// probeKeys[i] is a key that nodes[i] serves, for timing recovery.
	probeKeys []string
}

// readTimeout bounds every reply of the work clients, so that a call on a
// connection to a stopped server fails in a second at most. Calls also
// honour their context's deadline (ContextTimeoutEnabled).
//
// The clients' MaxRetries, and the cluster client's MaxRedirects, are the
// soak's -client-retries, -1 (none) by default. go-redis's defaults (3 of
// each) send a command again after a lost reply (EOF), so a script whose
// reply was lost runs twice for one call, which the library itself never
// does and the checks report. The cluster client resends on network
// errors up to MaxRedirects whatever MaxRetries says. Without redirects a
// MOVED reply fails the call, but no slot moves during the soak.
const readTimeout = time.Second

// startStandalone starts a persistent redis-server and a client for it.
func startStandalone(tb *cmdTB, retries int) (*target, error) {
	var srv *redistest.Server
	if err := tb.do(func() { srv = redistest.Start(tb, persistArgs...) }); err != nil {
		return nil, err
	}
	c := redis.NewClient(&redis.Options{
		Addr:                  srv.Addr,
		MaxRetries:            retries,
		ReadTimeout:           readTimeout,
		ContextTimeoutEnabled: true,
	})
	tb.Cleanup(func() { _ = c.Close() })
	if err := redislua.OptimizePipelines(c); err != nil {
		return nil, err
	}
	return &target{
		name:      "standalone",
		client:    c,
		nodes:     []*redistest.Server{srv},
		probeKeys: []string{"soak:{probe}"},
	}, nil
}

// startCluster starts a persistent cluster of three masters without
// replicas, and a cluster client. Without replicas a restarted master's
// slots are unavailable until it is back, and no failover can lose an
// acknowledged write to asynchronous replication.
func startCluster(tb *cmdTB, retries int) (*target, error) {
	var cl *redistest.Cluster
	err := tb.do(func() {
		cl = redistest.StartCluster(tb, &redistest.ClusterOptions{Masters: 3, Args: persistArgs})
	})
	if err != nil {
		return nil, err
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 cl.Addrs(),
		MaxRetries:            retries,
		MaxRedirects:          retries,
		ReadTimeout:           readTimeout,
		ContextTimeoutEnabled: true,
	})
	tb.Cleanup(func() { _ = c.Close() })
	if err := redislua.OptimizePipelines(c); err != nil {
		return nil, err
	}
	t := &target{name: "cluster", client: c, nodes: cl.Masters}
	for _, n := range cl.Masters {
		key, err := keyServedBy(cl, n)
		if err != nil {
			return nil, err
		}
		t.probeKeys = append(t.probeKeys, key)
	}
	return t, nil
}

// keyServedBy returns a key whose slot master serves.
func keyServedBy(cl *redistest.Cluster, master *redistest.Server) (string, error) {
	for i := range 1000 {
		key := "soak:{probe" + strconv.Itoa(i) + "}"
		if cl.MasterOf(redislua.Slot(key)) == master {
			return key, nil
		}
	}
	return "", fmt.Errorf("no probe key found for master %s", master.Addr)
}

// adminDo sends one command to every node on new connections, so that a
// CLIENT KILL cannot leave the injector with a dead pooled connection,
// and returns the integer replies added up (CLIENT KILL's count).
func (t *target) adminDo(ctx context.Context, args ...any) (int64, error) {
	var total int64
	for _, n := range t.nodes {
		c := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1})
		v, err := c.Do(ctx, args...).Result()
		_ = c.Close()
		if err != nil {
			return total, fmt.Errorf("%s: %v: %w", n.Addr, args, err)
		}
		if i, ok := v.(int64); ok {
			total += i
		}
	}
	return total, nil
}
