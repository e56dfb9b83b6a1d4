package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// nodeTimeout is cluster-node-timeout: short enough for failover tests
	// to take a few seconds, long enough for a busy machine not to flap.
	nodeTimeout = 2 * time.Second
	// clusterTimeout bounds creating a cluster and waiting until it is stable.
	clusterTimeout = 30 * time.Second
	// totalSlots is the number of hash slots of a Redis Cluster.
	totalSlots = 16384
)

// Cluster is a Redis Cluster of redis-server processes on 127.0.0.1,
// created with redis-cli --cluster create.
//
// Masters and Replicas record the roles at creation; a test that causes a
// failover must ask the cluster for the roles after it.
type Cluster struct {
	// Masters are ordered by slot: Masters[0] serves slot 0.
	Masters []*Server
	// Replicas[i*R+j] is the j-th replica of Masters[i], where R is
	// ClusterOptions.ReplicasPerMaster.
	Replicas []*Server
}

// ClusterOptions configures StartCluster. The zero value, like nil, means
// three masters without replicas.
type ClusterOptions struct {
	// Masters is the number of masters: 0 means 3, the least Redis accepts.
	Masters int
	// ReplicasPerMaster is the number of replicas of each master.
	ReplicasPerMaster int
	// Args are extra redis-server arguments for every node, as for Start.
	Args []string
}

// withDefaults returns a copy of o, which may be nil, with defaults applied.
func (o *ClusterOptions) withDefaults() (ClusterOptions, error) {
	var c ClusterOptions
	if o != nil {
		c = *o
	}
	if c.Masters == 0 {
		c.Masters = 3
	}
	if c.Masters < 3 {
		return c, fmt.Errorf("a cluster needs at least 3 masters, not %d", c.Masters)
	}
	if c.ReplicasPerMaster < 0 {
		return c, fmt.Errorf("negative ReplicasPerMaster %d", c.ReplicasPerMaster)
	}
	return c, nil
}

// StartCluster starts a Redis Cluster in a temporary directory and stops it
// in tb.Cleanup. It returns once every node reports cluster_state:ok, all
// nodes agree on a slot map that covers every slot and lists every replica,
// and every replica's link to its master is up. A nil opts means 3 masters
// and no replicas. StartCluster skips or fails tb as RequireRedis does when
// redis-server or redis-cli is missing.
func StartCluster(tb testing.TB, opts *ClusterOptions) *Cluster {
	tb.Helper()
	requireCluster(tb)
	c, err := startCluster(tb.TempDir(), opts)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(c.Stop)
	return c
}

// startCluster starts a cluster with its nodes in subdirectories of dir. On
// failure it stops whatever it started.
func startCluster(dir string, opts *ClusterOptions) (_ *Cluster, err error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	var nodes []*Server
	defer func() {
		if err != nil {
			stopAll(nodes)
		}
	}()
	for i := range o.Masters * (1 + o.ReplicasPerMaster) {
		d := filepath.Join(dir, "node"+strconv.Itoa(i))
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		s, err := launch(d, true, o.Args)
		if err != nil {
			return nil, fmt.Errorf("cluster node %d: %w", i, err)
		}
		nodes = append(nodes, s)
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	if err := createCluster(ctx, nodes, o.ReplicasPerMaster); err != nil {
		return nil, err
	}
	c, err := waitStable(ctx, nodes, o)
	if err != nil {
		return nil, fmt.Errorf("cluster not ready: %w\n%s", err, logTails(nodes))
	}
	return c, nil
}

// clusterArgs are the arguments of a cluster node whose bus listens on
// busPort. Choosing the bus port, rather than the default port+10000, keeps
// it free and below 65536.
func clusterArgs(busPort int) []string {
	return []string{
		"--cluster-enabled", "yes",
		"--cluster-config-file", "nodes.conf",
		"--cluster-port", strconv.Itoa(busPort),
		"--cluster-node-timeout", strconv.Itoa(int(nodeTimeout.Milliseconds())),
	}
}

// createCluster runs redis-cli --cluster create on the nodes.
func createCluster(ctx context.Context, nodes []*Server, replicas int) error {
	args := []string{"--cluster", "create"}
	for _, n := range nodes {
		args = append(args, n.Addr)
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("redis-cli %s: %w\n%s", strings.Join(args, " "), err, lastLines(string(out), 30))
	}
	return nil
}

// waitStable polls the nodes until the cluster is ready (see StartCluster)
// and returns it with the nodes sorted into masters and replicas.
func waitStable(ctx context.Context, nodes []*Server, o ClusterOptions) (*Cluster, error) {
	clients := make([]*redis.Client, len(nodes))
	for i, n := range nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1})
		defer clients[i].Close()
	}
	for {
		slots, err := checkCluster(ctx, clients, o.ReplicasPerMaster)
		if err == nil {
			return sortRoles(nodes, slots)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w; last check: %w", ctx.Err(), err)
		case <-time.After(5 * pollInterval):
		}
	}
}

// checkCluster checks once that the cluster is ready and returns its slot map.
func checkCluster(ctx context.Context, clients []*redis.Client, replicas int) ([]redis.ClusterSlot, error) {
	var want string
	var slots []redis.ClusterSlot
	for _, c := range clients {
		addr := c.Options().Addr
		info, err := c.ClusterInfo(ctx).Result()
		if err != nil {
			return nil, fmt.Errorf("%s: CLUSTER INFO: %w", addr, err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return nil, fmt.Errorf("%s: cluster_state is not ok", addr)
		}
		s, err := c.ClusterSlots(ctx).Result()
		if err != nil {
			return nil, fmt.Errorf("%s: CLUSTER SLOTS: %w", addr, err)
		}
		got, err := slotMap(s, replicas)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", addr, err)
		}
		if want == "" {
			want, slots = got, s
		} else if got != want {
			return nil, fmt.Errorf("%s sees slots %s, %s sees %s", addr, got, clients[0].Options().Addr, want)
		}
		repl, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return nil, fmt.Errorf("%s: INFO replication: %w", addr, err)
		}
		if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
			return nil, fmt.Errorf("%s: replica's master link is not up", addr)
		}
	}
	return slots, nil
}

// slotMap renders a CLUSTER SLOTS reply canonically, as "start-end master
// replica..." ranges, after checking that it covers every slot and that
// every range lists the given number of replicas.
func slotMap(slots []redis.ClusterSlot, replicas int) (string, error) {
	ranges := make([]string, 0, len(slots))
	covered := 0
	for _, s := range slots {
		if len(s.Nodes) != 1+replicas {
			return "", fmt.Errorf("slots %d-%d have %d nodes, want %d", s.Start, s.End, len(s.Nodes), 1+replicas)
		}
		covered += s.End - s.Start + 1
		addrs := make([]string, len(s.Nodes))
		for i, n := range s.Nodes {
			addrs[i] = n.Addr
		}
		slices.Sort(addrs[1:])
		ranges = append(ranges, fmt.Sprintf("%05d-%05d %s", s.Start, s.End, strings.Join(addrs, " ")))
	}
	if covered != totalSlots {
		return "", fmt.Errorf("slot map covers %d of %d slots", covered, totalSlots)
	}
	slices.Sort(ranges)
	return strings.Join(ranges, "; "), nil
}

// sortRoles splits nodes into masters ordered by slot and their replicas,
// as the slot map says.
func sortRoles(nodes []*Server, slots []redis.ClusterSlot) (*Cluster, error) {
	byAddr := make(map[string]*Server, len(nodes))
	for _, n := range nodes {
		byAddr[n.Addr] = n
	}
	slots = slices.Clone(slots)
	slices.SortFunc(slots, func(a, b redis.ClusterSlot) int { return a.Start - b.Start })
	c := &Cluster{}
	seen := make(map[string]bool)
	for _, s := range slots {
		if seen[s.Nodes[0].Addr] { // a master with several ranges
			continue
		}
		seen[s.Nodes[0].Addr] = true
		for i, n := range s.Nodes {
			srv, ok := byAddr[n.Addr]
			if !ok {
				return nil, fmt.Errorf("slot map names unknown node %s", n.Addr)
			}
			if i == 0 {
				c.Masters = append(c.Masters, srv)
			} else {
				c.Replicas = append(c.Replicas, srv)
			}
		}
	}
	if len(c.Masters)+len(c.Replicas) != len(nodes) {
		return nil, fmt.Errorf("slot map names %d masters and %d replicas, want %d nodes",
			len(c.Masters), len(c.Replicas), len(nodes))
	}
	return c, nil
}

// Nodes returns the masters, then the replicas.
func (c *Cluster) Nodes() []*Server {
	return slices.Concat(c.Masters, c.Replicas)
}

// Addrs returns the addresses of all nodes, masters first.
func (c *Cluster) Addrs() []string {
	nodes := c.Nodes()
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// Client returns a new cluster client seeded with every node's address,
// closed in tb.Cleanup.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	tb.Cleanup(func() { _ = cc.Close() })
	return cc
}

// Stop stops every node, as Server.Stop does. It is idempotent.
func (c *Cluster) Stop() {
	stopAll(c.Nodes())
}

// stopAll stops the servers concurrently and waits for all of them.
func stopAll(servers []*Server) {
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Go(s.Stop)
	}
	wg.Wait()
}

// logTails returns the end of every node's log, for an error message.
func logTails(nodes []*Server) string {
	var b strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&b, "--- %s log tail:\n%s\n", n.Addr, n.LogTail(10))
	}
	return strings.TrimRight(b.String(), "\n")
}
