package redistest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestClusterThreeMasters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	begin := time.Now()
	c := StartCluster(t, nil)
	t.Logf("3-master cluster ready in %v", time.Since(begin))

	if len(c.Masters) != 3 || len(c.Replicas) != 0 {
		t.Fatalf("got %d masters and %d replicas, want 3 and 0", len(c.Masters), len(c.Replicas))
	}
	for _, n := range c.Nodes() {
		info, err := n.Client(t).ClusterInfo(ctx).Result()
		if err != nil || !strings.Contains(info, "cluster_state:ok") {
			t.Errorf("%s: CLUSTER INFO = %q, %v; want cluster_state:ok", n.Addr, info, err)
		}
	}
	// Masters[0] serves slot 0.
	slots, err := c.Masters[0].Client(t).ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if s.Start == 0 && s.Nodes[0].Addr != c.Masters[0].Addr {
			t.Errorf("slot 0 is served by %s, want Masters[0] %s", s.Nodes[0].Addr, c.Masters[0].Addr)
		}
	}

	// Keys spread over slots, so every master serves some.
	cc := c.Client(t)
	for i := range 30 {
		key := fmt.Sprintf("cluster:key:%d", i)
		if err := cc.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
	}
	for i := range 30 {
		key := fmt.Sprintf("cluster:key:%d", i)
		if got, err := cc.Get(ctx, key).Int(); err != nil || got != i {
			t.Errorf("GET %s = %d, %v; want %d", key, got, err, i)
		}
	}
	for _, m := range c.Masters {
		if n, err := m.Client(t).DBSize(ctx).Result(); err != nil || n == 0 {
			t.Errorf("%s holds %d keys (%v), want some", m.Addr, n, err)
		}
	}
}

func TestClusterWithReplicas(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	c := StartCluster(t, &ClusterOptions{ReplicasPerMaster: 1})
	t.Logf("3+3 cluster ready in %v", time.Since(begin))
	checkReplicas(t, c, 3)
}

// checkReplicas checks that c has want replicas, each of its Masters[i].
func checkReplicas(t *testing.T, c *Cluster, want int) {
	t.Helper()
	ctx := context.Background()
	if len(c.Masters) != 3 || len(c.Replicas) != want {
		t.Fatalf("got %d masters and %d replicas, want 3 and %d", len(c.Masters), len(c.Replicas), want)
	}
	nodes, err := c.Masters[0].Client(t).ClusterNodes(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(nodes, "slave"); got != want {
		t.Errorf("CLUSTER NODES lists %d replicas, want %d:\n%s", got, want, nodes)
	}
	for i, r := range c.Replicas {
		info, err := r.Client(t).Info(ctx, "replication").Result()
		if err != nil {
			t.Fatal(err)
		}
		wantPort := fmt.Sprintf("master_port:%d", c.Masters[i].Port)
		if !strings.Contains(info, "master_link_status:up") || !strings.Contains(info, wantPort) {
			t.Errorf("Replicas[%d] INFO replication = %q, want link up to Masters[%d] (%s)", i, info, i, wantPort)
		}
	}
}

func TestSharedCluster(t *testing.T) {
	begin := time.Now()
	c := SharedCluster(t)
	t.Logf("shared 3+3 cluster ready in %v", time.Since(begin))
	if again := SharedCluster(t); again != c {
		t.Errorf("second SharedCluster = %p, want the first %p", again, c)
	}
	checkReplicas(t, c, 3)

	ctx := context.Background()
	cc := c.Client(t)
	if err := cc.Set(ctx, "shared:key", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := cc.Get(ctx, "shared:key").Result(); err != nil || got != "v" {
		t.Errorf("GET shared:key = %q, %v; want v", got, err)
	}
}

func TestClusterOptionsDefaults(t *testing.T) {
	tests := []struct {
		opts    *ClusterOptions
		masters int
		wantErr bool
	}{
		{nil, 3, false},
		{&ClusterOptions{}, 3, false},
		{&ClusterOptions{Masters: 5, ReplicasPerMaster: 2}, 5, false},
		{&ClusterOptions{Masters: 2}, 0, true},
		{&ClusterOptions{ReplicasPerMaster: -1}, 0, true},
	}
	for _, tt := range tests {
		got, err := tt.opts.withDefaults()
		if (err != nil) != tt.wantErr {
			t.Errorf("withDefaults(%+v) error = %v, want error %v", tt.opts, err, tt.wantErr)
		}
		if err == nil && got.Masters != tt.masters {
			t.Errorf("withDefaults(%+v).Masters = %d, want %d", tt.opts, got.Masters, tt.masters)
		}
	}
}

func BenchmarkStartCluster(b *testing.B) {
	for _, replicas := range []int{0, 1} {
		b.Run(fmt.Sprintf("masters=3/replicas=%d", replicas), func(b *testing.B) {
			for b.Loop() {
				c := StartCluster(b, &ClusterOptions{ReplicasPerMaster: replicas})
				b.StopTimer()
				c.Stop()
				b.StartTimer()
			}
		})
	}
}

func TestClusterNodeRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := StartCluster(t, nil)
	m := c.Masters[0]
	m.Kill()
	m.Restart(t)

	// The node keeps its identity and slots (nodes.conf) and rejoins.
	deadline := time.Now().Add(clusterTimeout)
	client := m.Client(t)
	for {
		info, err := client.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted node: CLUSTER INFO = %q, %v; want cluster_state:ok\n%s", info, err, m.LogTail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	cc := c.Client(t)
	if err := cc.Set(ctx, "{restart}key", "v", 0).Err(); err != nil {
		t.Fatalf("SET after restart: %v", err)
	}
}
