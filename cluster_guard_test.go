package redislua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// replySrc counts its runs in KEYS[1], then returns ARGV[1] as an error
// reply of its own: a script that ran, whatever the reply looks like.
const replySrc = "redis.call('INCR', KEYS[1])\nreturn redis.error_reply(ARGV[1])"

// onceKey returns a key for t's case i and the address of the master that
// serves it, from the cluster's own slot map.
func onceKey(t *testing.T, cc *redis.ClusterClient, i int) (key, addr string) {
	t.Helper()
	key = fmt.Sprintf("{once:%s:%d}", t.Name(), i)
	node, err := cc.MasterForKey(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return key, node.Options().Addr
}

// otherMaster returns the address of a master other than addr.
func otherMaster(t *testing.T, cc *redis.ClusterClient, addr string) string {
	t.Helper()
	var other string
	for _, slot := range cc.ClusterSlots(context.Background()).Val() {
		if a := slot.Nodes[0].Addr; a != addr {
			other = a
		}
	}
	if other == "" {
		t.Fatal("no other master")
	}
	return other
}

// runs reads how many times the script ran with key.
func runs(t *testing.T, cc *redis.ClusterClient, key string) int64 {
	t.Helper()
	n, err := cc.Get(context.Background(), key).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	return n
}

// A script's own error reply that looks like a cluster redirection or a
// transient cluster condition must neither redirect the ClusterClient nor
// make it send the script again: the script ran once, and the caller gets
// the reply as the script wrote it.
func TestRunOnClusterNeverFollowsAScriptsReply(t *testing.T) {
	cc := sharedCluster(t)
	ctx := context.Background()
	s := MustNewScript("reply", replySrc)
	for i, tc := range []struct {
		name  string
		reply func(key, addr, other string) string
	}{
		{"READONLY of its own", func(_, _, _ string) string { return "READONLY doc locked" }},
		{"READONLY in Redis's words", func(_, _, _ string) string {
			return "READONLY You can't write against a read only replica."
		}},
		{"MOVED to nowhere", func(_, _, _ string) string { return "MOVED 1 127.0.0.1:1" }},
		{"MOVED of its own", func(_, _, _ string) string { return "MOVED doc locked" }},
		{"MOVED in Redis's form, to another master", func(key, _, other string) string {
			return fmt.Sprintf("MOVED %d %s", Slot(key), other)
		}},
		{"MOVED in Redis's form, to its own master", func(key, addr, _ string) string {
			return fmt.Sprintf("MOVED %d %s", Slot(key), addr)
		}},
		{"ASK in Redis's form, to another master", func(key, _, other string) string {
			return fmt.Sprintf("ASK %d %s", Slot(key), other)
		}},
		{"LOADING in Redis's words", func(_, _, _ string) string {
			return "LOADING Redis is loading the dataset in memory"
		}},
		{"TRYAGAIN", func(_, _, _ string) string { return "TRYAGAIN Multiple keys request during rehashing of slot" }},
		{"CLUSTERDOWN", func(_, _, _ string) string { return "CLUSTERDOWN The cluster is down" }},
		{"MASTERDOWN", func(_, _, _ string) string { return "MASTERDOWN Link with MASTER is down" }},
		{"max clients", func(_, _, _ string) string { return "ERR max number of clients reached" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, addr := onceKey(t, cc, i)
			reply := tc.reply(key, addr, otherMaster(t, cc, addr))
			err := s.Run(ctx, cc, []string{key}, reply).Err()
			if n := runs(t, cc, key); n != 1 {
				t.Errorf("the script ran %d times, want 1", n)
			}
			if err == nil || err.Error() != reply {
				t.Errorf("err = %v, want the script's reply %q", err, reply)
			}
		})
	}
}

// The same on a ClusterClient that reads from replicas, where go-redis
// also retries LOADING on another node.
func TestRunOnReadOnlyClusterNeverFollowsAScriptsReply(t *testing.T) {
	shared := sharedCluster(t)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: clusterAddrs(t, shared), ReadOnly: true})
	t.Cleanup(func() { _ = cc.Close() })
	ctx := context.Background()
	s := MustNewScript("reply", replySrc)
	for i, reply := range []string{
		"LOADING Redis is loading the dataset in memory",
		"READONLY You can't write against a read only replica.",
	} {
		t.Run(strings.Fields(reply)[0], func(t *testing.T) {
			key, _ := onceKey(t, cc, i)
			err := s.Run(ctx, cc, []string{key}, reply).Err()
			if n := runs(t, cc, key); n != 1 {
				t.Errorf("the script ran %d times, want 1", n)
			}
			if err == nil || err.Error() != reply {
				t.Errorf("err = %v, want the script's reply %q", err, reply)
			}
		})
	}
}

// clusterAddrs returns the addresses of the masters of cc's cluster.
func clusterAddrs(t *testing.T, cc *redis.ClusterClient) []string {
	t.Helper()
	var addrs []string
	for _, slot := range cc.ClusterSlots(context.Background()).Val() {
		for _, n := range slot.Nodes {
			addrs = append(addrs, n.Addr)
		}
	}
	if len(addrs) == 0 {
		t.Fatal("no cluster nodes")
	}
	return addrs
}

// The node's own redirections still redirect: after a slot moved behind
// the client's back (MOVED), and while a slot migrates (ASK), the script
// runs once, on the slot's new node. Run on a cluster of its own, since it
// moves slots.
func TestRunOnClusterFollowsTheNodesRedirections(t *testing.T) {
	cl := redistest.StartCluster(t, nil)
	cc := cl.Client(t)
	ctx := context.Background()
	s := MustNewScript("incr", incrSrc)
	from, to, third := cl.Masters[0].Client(t), cl.Masters[1].Client(t), cl.Masters[2].Client(t)
	fromID, toID := from.ClusterMyID(ctx).Val(), to.ClusterMyID(ctx).Val()
	keys := firstMasterKeys(4) // keys[0] stays, the others' slots move
	if err := s.Run(ctx, cc, keys[:1], 1).Err(); err != nil {
		t.Fatal(err) // the client reads the slot map and hooks the nodes
	}
	setSlot := func(c *redis.Client, key string, args ...any) {
		t.Helper()
		args = append([]any{"cluster", "setslot", Slot(key)}, args...)
		if err := c.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}

	t.Run("MOVED", func(t *testing.T) {
		key := keys[1]
		setSlot(to, key, "importing", fromID)
		setSlot(from, key, "migrating", toID)
		for _, c := range []*redis.Client{to, from, third} {
			setSlot(c, key, "node", toID)
		}
		before := errorCount(t, from, "MOVED")
		if got, err := s.Run(ctx, cc, []string{key}, 1).Int64(); got != 1 || err != nil {
			t.Fatalf("Run = %d, %v; want 1, nil", got, err)
		}
		// To the script's EVALSHA and to the hook's probe; twice more if
		// the EVAL after the new master's NOSCRIPT went to the old master,
		// before the client's slot map was reloaded.
		if n := errorCount(t, from, "MOVED") - before; n != 2 && n != 4 {
			t.Fatalf("the old master answered MOVED %d times, want 2 or 4", n)
		}
		if n := to.Get(ctx, key).Val(); n != "1" {
			t.Fatalf("%s on the slot's new master = %q, want 1", key, n)
		}
	})

	t.Run("ASK", func(t *testing.T) {
		key := keys[2] // holds no key: the migrating node answers ASK
		setSlot(to, key, "importing", fromID)
		setSlot(from, key, "migrating", toID)
		before := errorCount(t, from, "ASK")
		if got, err := s.Run(ctx, cc, []string{key}, 1).Int64(); got != 1 || err != nil {
			t.Fatalf("Run = %d, %v; want 1, nil", got, err)
		}
		if n := errorCount(t, from, "ASK") - before; n != 2 && n != 4 {
			t.Fatalf("the migrating master answered ASK %d times, want 2 or 4 (as MOVED above)", n)
		}
		pipe := to.Pipeline() // the importing node serves the slot after ASKING
		pipe.Do(ctx, "asking")
		get := pipe.Get(ctx, key)
		if _, err := pipe.Exec(ctx); err != nil || get.Val() != "1" {
			t.Fatalf("%s on the importing master = %q, %v; want 1", key, get.Val(), err)
		}
	})

	// After a real ASK, the script runs on the importing node and returns
	// the MOVED that this node would send to a command without ASKING.
	t.Run("ASK, then the script's MOVED", func(t *testing.T) {
		key := keys[3]
		setSlot(to, key, "importing", fromID)
		setSlot(from, key, "migrating", toID)
		reply := fmt.Sprintf("MOVED %d %s", Slot(key), cl.Masters[0].Addr)
		err := MustNewScript("reply", replySrc).Run(ctx, cc, []string{key}, reply).Err()
		if err == nil || err.Error() != reply {
			t.Errorf("err = %v, want the script's reply %q", err, reply)
		}
		pipe := to.Pipeline()
		pipe.Do(ctx, "asking")
		get := pipe.Get(ctx, key)
		if _, err := pipe.Exec(ctx); err != nil || get.Val() != "1" {
			t.Fatalf("runs on the importing master = %q, %v; want 1", get.Val(), err)
		}
	})
}

// firstMasterKeys returns n keys of the first master's slots (0-5460), in
// different slots.
func firstMasterKeys(n int) []string {
	var keys []string
	seen := map[int]bool{}
	for i := 0; len(keys) < n; i++ {
		k := fmt.Sprintf("follow:%d", i)
		if slot := Slot(k); slot <= 5460 && !seen[slot] {
			seen[slot] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// In a ClusterClient pipeline, go-redis queues a MOVED or ASK reply's
// redirection as it reads the reply; the node hooks then leave the
// redirected script command out. The hooks are on the client's nodes once
// Run ran a script on the client (here, the first Run).
func TestRunInClusterPipelineNeverFollowsAScriptsReply(t *testing.T) {
	// Without OptimizePipelines the nodes are guarded by a Run first (a
	// Pipeliner does not lead to its ClusterClient); with it, by the
	// pipeline hook, whether or not a Run came first.
	for _, tc := range []struct{ optimized, warm bool }{{false, true}, {true, true}, {true, false}} {
		t.Run(fmt.Sprintf("OptimizePipelines=%v/Run-first=%v", tc.optimized, tc.warm), func(t *testing.T) {
			cc := sharedCluster(t)
			if tc.optimized {
				if err := OptimizePipelines(cc); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			s := MustNewScript("reply", replySrc)
			if tc.warm {
				warm, _ := onceKey(t, cc, 100)
				_ = s.Run(ctx, cc, []string{warm}, "ERR warm-up")
			}

			replies := []func(key, addr, other string) string{
				func(key, _, other string) string { return fmt.Sprintf("MOVED %d %s", Slot(key), other) },
				func(key, addr, _ string) string { return fmt.Sprintf("MOVED %d %s", Slot(key), addr) },
				func(key, _, other string) string { return fmt.Sprintf("ASK %d %s", Slot(key), other) },
				func(_, _, _ string) string { return "MOVED 1 127.0.0.1:1" },
				func(_, _, _ string) string { return "READONLY doc locked" },
			}
			pipe := cc.Pipeline()
			var keys, want []string
			var cmds []*redis.Cmd
			for i, reply := range replies {
				key, addr := onceKey(t, cc, i)
				keys, want = append(keys, key), append(want, reply(key, addr, otherMaster(t, cc, addr)))
				cmds = append(cmds, s.Run(ctx, pipe, []string{key}, want[i]))
			}
			_, _ = pipe.Exec(ctx)
			for i, cmd := range cmds {
				if n := runs(t, cc, keys[i]); n != 1 {
					t.Errorf("%q: the script ran %d times, want 1", want[i], n)
				}
				if err := cmd.Err(); err == nil || err.Error() != want[i] {
					t.Errorf("%q: err = %v, want the script's reply", want[i], err)
				}
			}
		})
	}
}

// On a Client and a Ring, go-redis re-sends a command after such replies
// only when the command allows it (NoRetry), which Run's do not: each
// reply reaches the caller after one run.
func TestRunOnClientAndRingSendsAScriptsReplyOnce(t *testing.T) {
	a, b := realRedis(t), realRedis(t)
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": a.client.Options().Addr, "b": b.client.Options().Addr}})
	t.Cleanup(func() { _ = ring.Close() })
	ctx := context.Background()
	s := MustNewScript("reply", replySrc)
	for _, c := range []struct {
		name   string
		client redis.UniversalClient
	}{{"Client", a.client}, {"Ring", ring}} {
		for i, reply := range []string{
			"READONLY You can't write against a read only replica.",
			"LOADING Redis is loading the dataset in memory",
			"MOVED 1 127.0.0.1:1",
			"ASK 1 127.0.0.1:1",
			"TRYAGAIN Multiple keys request during rehashing of slot",
			"CLUSTERDOWN The cluster is down",
			"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
			"NOREPLICAS Not enough good replicas to write.",
			"ERR max number of clients reached",
		} {
			t.Run(c.name+"/"+strings.Fields(reply)[0], func(t *testing.T) {
				key := fmt.Sprintf("once:%s:%d", c.name, i)
				err := s.Run(ctx, c.client, []string{key}, reply).Err()
				if n, _ := c.client.Get(ctx, key).Int(); n != 1 {
					t.Errorf("the script ran %d times, want 1", n)
				}
				if err == nil || err.Error() != reply {
					t.Errorf("err = %v, want the script's reply %q", err, reply)
				}
			})
		}
	}
}

// The probe tells a replica's own READONLY, which Redis 7.0 sends before
// running a script flagged as writing, from the same words returned by a
// script that ran.
func TestNodeRefusalProbeOnAReplica(t *testing.T) {
	cl := redistest.SharedCluster(t)
	ctx := context.Background()
	replica, master := cl.Replicas[0].Client(t), cl.Masters[0].Client(t)
	if role := replica.Do(ctx, "role").Val(); fmt.Sprint(role) == "" || !strings.Contains(fmt.Sprint(role), "slave") {
		t.Skipf("the first replica's role is %v", role)
	}
	const readOnly = "READONLY You can't write against a read only replica."
	for _, tc := range []struct {
		name string
		node *redis.Client
		src  string
		want bool
	}{
		{"writing script on a replica", replica, "#!lua\nreturn 1", true},
		{"script without flags on a replica", replica, "return 1", false},
		{"no-writes script on a replica", replica, "#!lua flags=no-writes\nreturn 1", false},
		{"writing script on a master", master, "#!lua\nreturn 1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustNewScript("probe", tc.src)
			if tc.want { // the words the node uses, checked on the node
				err := tc.node.Eval(ctx, tc.src, nil).Err()
				if err == nil || err.Error() != readOnly {
					t.Fatalf("EVAL on the replica: %v, want %q", err, readOnly)
				}
			}
			oc := &onceCmd{Cmd: *redis.NewCmd(ctx, cmdEvalSha, s.sha, 0), script: s}
			if got := (replyHook{node: tc.node}).isNodeRefusal(ctx, oc, readOnly, false); got != tc.want {
				t.Errorf("isNodeRefusal = %v, want %v", got, tc.want)
			}
		})
	}
}

// Load, LoadAll and Exists visit every node of a ClusterClient, and hook
// each one as they go: the Run after them on a fresh client sends no
// CLUSTER SLOTS of its own, and a script's reply still runs it once.
func TestClusterNodesHookedByLoadAndExists(t *testing.T) {
	ctx := context.Background()
	reg, err := NewRegistry(fstest.MapFS{"reply.lua": {Data: []byte(replySrc)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := reg.MustScript("reply")
	for i, first := range []struct {
		name string
		call func(cc *redis.ClusterClient) error
	}{
		{"Load", func(cc *redis.ClusterClient) error { return s.Load(ctx, cc) }},
		{"LoadAll", func(cc *redis.ClusterClient) error { return reg.LoadAll(ctx, cc) }},
		{"Exists", func(cc *redis.ClusterClient) error { _, err := s.Exists(ctx, cc); return err }},
	} {
		t.Run(first.name, func(t *testing.T) {
			// A new client whose node clients all exist before the
			// library sees it: OnNewNode cannot hook them.
			cc := sharedCluster(t)
			if err := cc.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
				return n.Ping(ctx).Err()
			}); err != nil {
				t.Fatal(err)
			}
			if err := first.call(cc); err != nil {
				t.Fatal(err)
			}
			key, addr := onceKey(t, cc, i)
			reply := fmt.Sprintf("MOVED %d %s", Slot(key), otherMaster(t, cc, addr))
			err := s.Run(ctx, cc, []string{key}, reply).Err()
			if n := runs(t, cc, key); n != 1 {
				t.Errorf("the script ran %d times, want 1", n)
			}
			if err == nil || err.Error() != reply {
				t.Errorf("err = %v, want the script's reply %q", err, reply)
			}
		})
	}
}

// BenchmarkRunOnCluster compares Script.Run on a ClusterClient, which
// checks that the client's nodes have the reply hooks (cluster_guard.go),
// with the raw go-redis EvalSha it wraps.
func BenchmarkRunOnCluster(b *testing.B) {
	cc := redistest.SharedCluster(b).Client(b)
	ctx := context.Background()
	s := MustNewScript("incr", incrSrc)
	if err := s.Load(ctx, cc); err != nil {
		b.Fatal(err)
	}
	keys := []string{"{bench-once}"}
	for _, bm := range []struct {
		name string
		run  func() *redis.Cmd
	}{
		{"raw-evalsha", func() *redis.Cmd { return cc.EvalSha(ctx, s.SHA(), keys, 1) }},
		{"script-run", func() *redis.Cmd { return s.Run(ctx, cc, keys, 1) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := bm.run().Err(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkGuardCluster measures what Run adds per call on a
// ClusterClient whose nodes have the reply hooks: one look-up.
func BenchmarkGuardCluster(b *testing.B) {
	cc := redistest.SharedCluster(b).Client(b)
	ctx := context.Background()
	if err := guardCluster(ctx, cc); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := guardCluster(ctx, cc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
