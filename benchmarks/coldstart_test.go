package benchmarks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// The cold-start figures (target 3) are counts, not times: these tests
// count what the client sends with a go-redis hook on every connection
// pool (one ProcessHook call is one command and one round trip, one
// ProcessPipelineHook call one round trip), so they hold on any machine.

// counted returns a client on srv's address whose round trips r counts.
func countedClient(t *testing.T, addr string) (*redis.Client, *roundTrips) {
	t.Helper()
	c := newClient(t, addr, 0)
	r := &roundTrips{}
	c.AddHook(r.hook(addr))
	return c, r
}

// countedCluster returns a cluster client that counts its round trips per
// node, with its slot map loaded and nothing recorded yet.
func countedCluster(t *testing.T, replicasPerMaster int) (*redis.ClusterClient, *roundTrips, int) {
	t.Helper()
	cl, _ := cluster(t, replicasPerMaster, 0)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs()})
	t.Cleanup(func() { _ = cc.Close() })
	r := &roundTrips{}
	cc.OnNewNode(func(n *redis.Client) { n.AddHook(r.hook(n.Options().Addr)) })
	if err := cc.ForEachShard(context.Background(), func(ctx context.Context, n *redis.Client) error {
		return n.Ping(ctx).Err()
	}); err != nil {
		t.Fatal(err)
	}
	// go-redis loads the server's command table (COMMAND) on a cluster
	// client's first keyed command: a cost per client, sent here.
	if err := cc.Get(context.Background(), "bench-warm-up").Err(); err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	r.take()
	return cc, r, len(cl.Nodes())
}

// describe renders round trips for a failure message.
func describe(trips []trip) string {
	var b strings.Builder
	for _, t := range trips {
		fmt.Fprintf(&b, "\n  %s pipeline=%v %v", t.addr, t.pipeline, t.cmds)
	}
	return b.String()
}

// checkColdRun runs s after flushing the script cache: the first call must
// be two round trips (EVALSHA refused with NOSCRIPT, then EVAL, which
// caches the script) and every later call one (EVALSHA). On a
// ClusterClient, the first Run of the client also hooks its nodes against
// scripts' redirect replies through ForEachShard, which reloads the slot
// map: one CLUSTER SLOTS, once per client (none if Load or LoadAll ran
// first, having visited every node already).
func checkColdRun(t *testing.T, c redis.UniversalClient, r *roundTrips) {
	t.Helper()
	ctx := context.Background()
	s := script("incr")
	keys := []string{"{bench-cold}:counter"}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	r.take()
	for call, want := range [][]string{{"evalsha", "eval"}, {"evalsha"}, {"evalsha"}} {
		if err := s.Run(ctx, c, keys, 1).Err(); err != nil {
			t.Fatalf("call %d: %v", call+1, err)
		}
		trips := r.take()
		var got []string
		slotMaps := 0
		for _, tr := range trips {
			if tr.pipeline || len(tr.cmds) != 1 {
				t.Fatalf("call %d sent a pipeline:%s", call+1, describe(trips))
			}
			if _, cluster := c.(*redis.ClusterClient); cluster && call == 0 && tr.cmds[0] == "cluster" {
				slotMaps++
				continue
			}
			got = append(got, tr.cmds[0])
		}
		if _, cluster := c.(*redis.ClusterClient); cluster && call == 0 {
			if slotMaps != 1 {
				t.Errorf("first call on the cluster client: %d CLUSTER SLOTS, want 1 (the guard's visit of the nodes):%s", slotMaps, describe(trips))
			}
			t.Logf("first call on the cluster client: %v, plus %d CLUSTER SLOTS", got, slotMaps)
		}
		if !slices.Equal(got, want) {
			t.Errorf("call %d after SCRIPT FLUSH: %d round trips %v, want %d %v", call+1, len(got), got, len(want), want)
		}
	}
}

func TestColdStartRun(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		srv, _ := standalone(t, 0)
		c, r := countedClient(t, srv.Addr)
		checkColdRun(t, c, r)
	})
	t.Run("cluster", func(t *testing.T) {
		cc, r, _ := countedCluster(t, 0)
		checkColdRun(t, cc, r)
	})
}

// hundredScripts is a registry of 100 distinct scripts of about 2 KiB:
// lua/quota.lua, each copy with its own first line.
func hundredScripts(t *testing.T) *redislua.Registry {
	t.Helper()
	src := luaSource(t, "quota")
	fsys := fstest.MapFS{}
	for i := range 100 {
		fsys[fmt.Sprintf("lua/quota%03d.lua", i)] = &fstest.MapFile{Data: fmt.Appendf(nil, "-- Copy %d.\n%s", i, src)}
	}
	reg, err := redislua.NewRegistry(fsys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(reg.Scripts()); n != 100 {
		t.Fatalf("registry holds %d scripts, want 100", n)
	}
	return reg
}

// checkLoadAll checks that LoadAll sent one pipeline of 100 SCRIPT LOADs to
// each of nodes nodes and nothing else, and that the scripts then run with
// one EVALSHA each. On a cluster, go-redis's ForEachShard, through which
// LoadAll reaches every node, first reloads the slot map (CLUSTER SLOTS
// from one node): that one round trip is allowed for, and reported.
func checkLoadAll(t *testing.T, c redis.UniversalClient, r *roundTrips, nodes int) {
	t.Helper()
	ctx := context.Background()
	reg := hundredScripts(t)
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	r.take()
	if err := reg.LoadAll(ctx, c); err != nil {
		t.Fatal(err)
	}
	trips := r.take()
	perNode := map[string]int{}
	slotMaps := 0
	for _, tr := range trips {
		if !tr.pipeline && slices.Equal(tr.cmds, []string{"cluster"}) && nodes > 1 {
			slotMaps++
			continue
		}
		perNode[tr.addr]++
		if !tr.pipeline || len(tr.cmds) != 100 || slices.IndexFunc(tr.cmds, func(n string) bool { return n != "script load" }) >= 0 {
			t.Errorf("LoadAll sent something other than a pipeline of 100 SCRIPT LOADs:%s", describe(trips))
			break
		}
	}
	if len(perNode) != nodes || len(trips)-slotMaps != nodes || slotMaps > 1 {
		t.Errorf("LoadAll: %d round trips to %d nodes, want 1 to each of %d:%s", len(trips), len(perNode), nodes, describe(trips))
	}
	t.Logf("LoadAll of 100 scripts: %d round trips (one pipeline to each of %d nodes), plus %d CLUSTER SLOTS", len(trips)-slotMaps, nodes, slotMaps)
	for _, s := range reg.Scripts() {
		if err := s.Run(ctx, c, []string{"{bench-load}:quota"}, 1).Err(); err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
	}
	trips = r.take()
	if len(trips) != 100 || slices.IndexFunc(trips, func(tr trip) bool { return tr.cmds[0] != "evalsha" }) >= 0 {
		t.Errorf("100 calls after LoadAll: %d round trips, want 100 EVALSHA:%s", len(trips), describe(trips))
	}
}

func TestColdStartLoadAll(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		srv, _ := standalone(t, 0)
		c, r := countedClient(t, srv.Addr)
		checkLoadAll(t, c, r, 1)
	})
	t.Run("cluster-3-masters-3-replicas", func(t *testing.T) {
		cc, r, nodes := countedCluster(t, 1)
		checkLoadAll(t, cc, r, nodes)
	})
}
