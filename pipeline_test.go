package redislua

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// countNames counts the commands of cmds by their (possibly rewritten)
// name.
func countNames(cmds []*redis.Cmd) map[string]int {
	n := map[string]int{}
	for _, c := range cmds {
		n[fmt.Sprint(c.Args()[0])]++
	}
	return n
}

func TestOptimizePipelinesSendsTheSourceOncePerPipeline(t *testing.T) {
	for _, tx := range []bool{false, true} {
		t.Run(fmt.Sprintf("tx=%v", tx), func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				ctx := context.Background()
				if err := OptimizePipelines(b.client); err != nil {
					t.Fatal(err)
				}
				incr := MustNewScript("incr", incrSrc)
				get := MustNewScript("get", "-- @readonly\nreturn redis.call('GET', KEYS[1])")
				for round := 1; round <= 3; round++ {
					b.client.ScriptFlush(ctx) // before every pipeline
					var pipe redis.Pipeliner = b.client.Pipeline()
					if tx {
						pipe = b.client.TxPipeline()
					}
					var incrs, gets []*redis.Cmd
					for i := 0; i < 100; i++ {
						incrs = append(incrs, incr.Run(ctx, pipe, []string{"p"}, 1))
						gets = append(gets, get.Run(ctx, pipe, []string{"p"}))
					}
					if _, err := pipe.Exec(ctx); err != nil {
						t.Fatalf("round %d: Exec: %v", round, err)
					}
					for i := range incrs {
						want := int64((round-1)*100 + i + 1)
						if got, err := incrs[i].Int64(); err != nil || got != want {
							t.Fatalf("round %d call %d = %d, %v; want %d", round, i, got, err, want)
						}
						if got, err := gets[i].Int64(); err != nil || got != want {
							t.Fatalf("round %d get %d = %d, %v; want %d", round, i, got, err, want)
						}
					}
					if got := fmt.Sprint(countNames(incrs)); got != "map[eval:1 evalsha:99]" {
						t.Fatalf("incr commands %s, want one eval and 99 evalsha", got)
					}
					if got := fmt.Sprint(countNames(gets)); got != "map[eval_ro:1 evalsha_ro:99]" {
						t.Fatalf("get commands %s, want one eval_ro and 99 evalsha_ro", got)
					}
				}
				if b.real {
					stats := b.client.Info(ctx, "commandstats").Val()
					for _, want := range []string{"cmdstat_eval:calls=3,", "cmdstat_evalsha:calls=297,"} {
						if !strings.Contains(stats, want) {
							t.Errorf("server commandstats lack %q", want)
						}
					}
				}
			})
		})
	}
}

// With the hook, errors of queued script commands are already mapped after
// Exec, including those of rewritten EVALSHA commands.
func TestOptimizePipelinesMapsErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		if err := OptimizePipelines(b.client); err != nil {
			t.Fatal(err)
		}
		s := MustNewScript("check", "local n = tonumber(ARGV[1])\nif n < 0 then error('negative') end\nreturn n")
		pipe := b.client.Pipeline()
		ok := s.Run(ctx, pipe, nil, 1)
		bad := s.Run(ctx, pipe, nil, -1)
		_, execErr := pipe.Exec(ctx)
		if ok.Err() != nil {
			t.Fatal(ok.Err())
		}
		if execErr != bad.Err() {
			t.Errorf("Exec returned %v, want the failed command's mapped error", execErr)
		}
		var se *ScriptError
		if !errors.As(bad.Err(), &se) || se.Line != 2 || se.Message != "negative" || bad.Args()[0] != "evalsha" {
			t.Fatalf("second call: %v (%v), want a mapped error on line 2 from a rewritten EVALSHA", bad.Err(), bad.Args()[0])
		}
	})
}

func TestOptimizePipelinesRejectsNil(t *testing.T) {
	if err := OptimizePipelines(nil); !errors.Is(err, ErrNilClient) {
		t.Fatalf("nil: %v", err)
	}
	if err := OptimizePipelines((*redis.Client)(nil)); !errors.Is(err, ErrNilClient) {
		t.Fatalf("typed nil: %v", err)
	}
}

// On a cluster, go-redis splits a pipeline by node and the hook rewrites
// each node's part: the source goes once per node whatever the keys'
// slots, and a flush on every node before the pipeline costs nothing.
func TestOptimizePipelinesOnCluster(t *testing.T) {
	cc := optimizedCluster(t)
	ctx := context.Background()
	s := uniqueRegistry(t, 1).MustScript("s0")
	keys := keysAcrossSlots(t.Name(), 50)
	masters := map[string]bool{}
	for _, k := range keys {
		m, err := cc.MasterForKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		masters[m.Options().Addr] = true
	}
	for round := 0; round < 3; round++ {
		flushEveryNode(t, cc)
		pipe := cc.Pipeline()
		var cmds []*redis.Cmd
		for i := 0; i < 200; i++ {
			cmds = append(cmds, s.Run(ctx, pipe, []string{keys[i%len(keys)]}, 1))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, cmd := range cmds {
			want := int64(round*4 + i/len(keys) + 1)
			if got, err := cmd.Int64(); err != nil || got != want {
				t.Fatalf("round %d call %d = %d, %v; want %d", round, i, got, err, want)
			}
		}
		if n := countNames(cmds)["eval"]; n != len(masters) {
			t.Fatalf("round %d: %d EVAL for keys of %d slots, want one per master (%d)", round, n, len(keys), len(masters))
		}
	}
}

// A ClusterClient that ran commands before OptimizePipelines already has
// its nodes, which OnNewNode does not reach: the first pipeline hooks them.
func TestOptimizePipelinesOnClusterAfterUse(t *testing.T) {
	cc := sharedCluster(t)
	ctx := context.Background()
	if err := cc.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
		return n.Ping(ctx).Err()
	}); err != nil {
		t.Fatal(err)
	}
	if err := OptimizePipelines(cc); err != nil {
		t.Fatal(err)
	}
	s := MustNewScript("incr", incrSrc)
	keys := keysAcrossSlots(t.Name(), 30)
	for round := 0; round < 2; round++ {
		pipe := cc.Pipeline()
		var cmds []*redis.Cmd
		for _, k := range keys {
			cmds = append(cmds, s.Run(ctx, pipe, []string{k}, 1))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if n := countNames(cmds)["eval"]; n > 3 {
			t.Fatalf("round %d: %d EVAL for 30 calls on 3 masters, want at most 3", round, n)
		}
	}
}

// A transaction on a cluster (one slot) goes to one node, wrapped in
// MULTI and EXEC: the source goes once.
func TestOptimizePipelinesOnClusterTransaction(t *testing.T) {
	cc := optimizedCluster(t)
	ctx := context.Background()
	s := MustNewScript("incr", incrSrc)
	key := "{" + t.Name() + "}:n"
	for round := 0; round < 2; round++ {
		flushEveryNode(t, cc)
		pipe := cc.TxPipeline()
		var cmds []*redis.Cmd
		for i := 0; i < 50; i++ {
			cmds = append(cmds, s.Run(ctx, pipe, []string{key}, 1))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, cmd := range cmds {
			if got, err := cmd.Int64(); err != nil || got != int64(round*50+i+1) {
				t.Fatalf("round %d call %d = %d, %v", round, i, got, err)
			}
		}
		if got := countNames(cmds); got["eval"] != 1 || got["evalsha"] != 49 {
			t.Fatalf("round %d: sent as %v, want one eval and 49 evalsha", round, got)
		}
	}
}

// On a cluster the errors are mapped once go-redis has run every node's
// part, the rewritten EVALSHAs' too.
func TestOptimizePipelinesOnClusterMapsErrors(t *testing.T) {
	cc := optimizedCluster(t)
	ctx := context.Background()
	s := MustNewScript("check", "local n = tonumber(ARGV[1])\nif n < 0 then error('negative') end\nreturn n")
	keys := keysAcrossSlots(t.Name(), 12)
	pipe := cc.Pipeline()
	var cmds []*redis.Cmd
	for _, k := range keys {
		cmds = append(cmds, s.Run(ctx, pipe, []string{k}, -1))
	}
	_, execErr := pipe.Exec(ctx)
	var se *ScriptError
	if !errors.As(execErr, &se) {
		t.Errorf("Exec returned %v, want a *ScriptError", execErr)
	}
	for i, cmd := range cmds {
		if !errors.As(cmd.Err(), &se) || se.Line != 2 || se.Message != "negative" {
			t.Fatalf("call %d (%v): %v, want a mapped error on line 2", i, cmd.Args()[0], cmd.Err())
		}
	}
	if n := countNames(cmds)["evalsha"]; n == 0 {
		t.Fatal("no call was rewritten to EVALSHA")
	}
}

// go-redis picks the node of some script commands per command, not per
// slot: a ReadOnly client with RouteRandomly sends each read to a random
// master or replica of its slot, and a script without keys goes to the
// masters in turn. The rewrite follows those choices, since it runs on each
// node's part of the pipeline: no EVALSHA reaches a node without its EVAL.
// (Rewriting per slot before go-redis routed the pipeline failed both with
// NOSCRIPT.)
func TestOptimizePipelinesOnClusterFollowsRouting(t *testing.T) {
	cl := redistest.SharedCluster(t)
	ctx := context.Background()
	t.Run("reads on random replicas", func(t *testing.T) {
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs(), ReadOnly: true, RouteRandomly: true})
		t.Cleanup(func() { _ = cc.Close() })
		if err := OptimizePipelines(cc); err != nil {
			t.Fatal(err)
		}
		get := MustNewScript("get", "#!lua flags=no-writes\nreturn redis.call('EXISTS', KEYS[1])")
		// Few slots: each slot's reads spread over its master and replica.
		keys := keysAcrossSlots(t.Name(), 3)
		for round := 0; round < 3; round++ {
			flushEveryNode(t, cc)
			pipe := cc.Pipeline()
			var cmds []*redis.Cmd
			for i := 0; i < 100; i++ {
				cmds = append(cmds, get.Run(ctx, pipe, []string{keys[i%len(keys)]}))
			}
			_, _ = pipe.Exec(ctx)
			for i, cmd := range cmds {
				if got, err := cmd.Int64(); err != nil || got != 0 {
					t.Fatalf("round %d call %d (%v) = %d, %v; want 0", round, i, cmd.Args()[0], got, err)
				}
			}
		}
	})
	t.Run("scripts without keys", func(t *testing.T) {
		cc := cl.Client(t)
		if err := OptimizePipelines(cc); err != nil {
			t.Fatal(err)
		}
		for round := 0; round < 3; round++ {
			flushEveryNode(t, cc)
			echoes(t, cc, round)
		}
	})
}

// echoes runs a pipeline of 30 calls of a script without keys that returns
// its argument, checks every reply, and returns the commands.
func echoes(t *testing.T, c interface{ Pipeline() redis.Pipeliner }, round int) []*redis.Cmd {
	t.Helper()
	ctx := context.Background()
	echo := MustNewScript("echo", "return ARGV[1]")
	pipe := c.Pipeline()
	var cmds []*redis.Cmd
	for i := 0; i < 30; i++ {
		cmds = append(cmds, echo.Run(ctx, pipe, nil, i))
	}
	_, _ = pipe.Exec(ctx)
	for i, cmd := range cmds {
		if got, err := cmd.Int64(); err != nil || got != int64(i) {
			t.Fatalf("round %d call %d (%v) = %d, %v; want %d", round, i, cmd.Args()[0], got, err, i)
		}
	}
	return cmds
}

// optimizedCluster returns a new client of the shared cluster, with
// OptimizePipelines.
func optimizedCluster(t *testing.T) *redis.ClusterClient {
	t.Helper()
	cc := sharedCluster(t)
	if err := OptimizePipelines(cc); err != nil {
		t.Fatal(err)
	}
	return cc
}

// flushEveryNode empties the script cache of every master and replica.
func flushEveryNode(t *testing.T, cc *redis.ClusterClient) {
	t.Helper()
	if err := cc.ForEachShard(context.Background(), func(ctx context.Context, n *redis.Client) error {
		return n.ScriptFlush(ctx).Err()
	}); err != nil {
		t.Fatal(err)
	}
}

// optimizedRing returns a Ring of two servers, with OptimizePipelines.
func optimizedRing(t *testing.T, a, b backend) *redis.Ring {
	t.Helper()
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{
		"a": a.client.Options().Addr, "b": b.client.Options().Addr,
	}})
	t.Cleanup(func() { _ = ring.Close() })
	if err := OptimizePipelines(ring); err != nil {
		t.Fatal(err)
	}
	return ring
}

func TestOptimizePipelinesOnRing(t *testing.T) {
	a, b := realRedis(t), realRedis(t)
	ring := optimizedRing(t, a, b)
	ctx := context.Background()
	s := MustNewScript("incr", incrSrc)
	keys := keysAcrossSlots(t.Name(), 20)
	pipe := ring.Pipeline()
	var cmds []*redis.Cmd
	for i := 0; i < 100; i++ {
		cmds = append(cmds, s.Run(ctx, pipe, []string{keys[i%len(keys)]}, 1))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range cmds {
		if got, err := cmd.Int64(); err != nil || got != int64(i/len(keys)+1) {
			t.Fatalf("call %d = %d, %v", i, got, err)
		}
	}
}

// A Ring sends a pipeline's commands without keys to one shard, picked at
// random for each pipeline: the source goes once for all of them.
func TestOptimizePipelinesOnRingScriptsWithoutKeys(t *testing.T) {
	a, b := realRedis(t), realRedis(t)
	ring := optimizedRing(t, a, b)
	ctx := context.Background()
	for round := 0; round < 3; round++ {
		a.client.ScriptFlush(ctx)
		b.client.ScriptFlush(ctx)
		cmds := echoes(t, ring, round)
		if n := countNames(cmds)["eval"]; n != 1 {
			t.Fatalf("round %d: %d EVAL, want 1", round, n)
		}
	}
}

// When a slot has moved since the client read the slot map, the old node
// answers MOVED and go-redis sends the redirected commands to the new node
// through that node's hooks: the first of them becomes an EVAL again there,
// though the old node's part had rewritten it to EVALSHA. Run on a cluster
// of its own, since it moves a slot.
func TestOptimizePipelinesAfterASlotMoved(t *testing.T) {
	cl := redistest.StartCluster(t, nil)
	cc := cl.Client(t)
	ctx := context.Background()
	if err := OptimizePipelines(cc); err != nil {
		t.Fatal(err)
	}
	s := MustNewScript("incr", incrSrc)
	// Two keys of the first master (slots 0-5460), in different slots.
	var stay, move string
	for i := 0; move == ""; i++ {
		k := fmt.Sprintf("moved:%d", i)
		switch {
		case Slot(k) > 5460:
		case stay == "":
			stay = k
		case Slot(k) != Slot(stay):
			move = k
		}
	}
	// A first pipeline: the client reads the slot map (and hooks the nodes).
	warm := cc.Pipeline()
	s.Run(ctx, warm, []string{stay}, 1)
	if _, err := warm.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	// Move move's slot (it holds no key) from the first master to the
	// second, as a resharding does, behind the client's back.
	from, to := cl.Masters[0].Client(t), cl.Masters[1].Client(t)
	fromID, toID := from.ClusterMyID(ctx).Val(), to.ClusterMyID(ctx).Val()
	slot := Slot(move)
	for _, step := range []struct {
		c    *redis.Client
		args []any
	}{
		{to, []any{"cluster", "setslot", slot, "importing", fromID}},
		{from, []any{"cluster", "setslot", slot, "migrating", toID}},
		{to, []any{"cluster", "setslot", slot, "node", toID}},
		{from, []any{"cluster", "setslot", slot, "node", toID}},
		{cl.Masters[2].Client(t), []any{"cluster", "setslot", slot, "node", toID}},
	} {
		if err := step.c.Do(ctx, step.args...).Err(); err != nil {
			t.Fatalf("%v: %v", step.args, err)
		}
	}
	if err := to.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	movedBefore := movedReplies(t, from)

	pipe := cc.Pipeline()
	first := s.Run(ctx, pipe, []string{stay}, 1)
	var moved []*redis.Cmd
	for i := 0; i < 5; i++ {
		moved = append(moved, s.Run(ctx, pipe, []string{move}, 1))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := first.Int64(); err != nil || got != 2 {
		t.Fatalf("call on the unmoved slot = %d, %v; want 2", got, err)
	}
	for i, cmd := range moved {
		if got, err := cmd.Int64(); err != nil || got != int64(i+1) {
			t.Fatalf("call %d on the moved slot (%v) = %d, %v; want %d", i, cmd.Args()[0], got, err, i+1)
		}
	}
	if got := countNames(moved); got["eval"] != 1 || got["evalsha"] != 4 {
		t.Fatalf("moved calls were sent as %v, want one eval then evalsha", got)
	}
	if n := to.Exists(ctx, move).Val(); n != 1 {
		t.Fatalf("key %q not on the slot's new master", move)
	}
	if n := movedReplies(t, from) - movedBefore; n != 5 {
		t.Fatalf("the old master answered MOVED %d times, want 5 (the test must exercise redirection)", n)
	}
}

// movedReplies is the number of MOVED errors a node has replied.
func movedReplies(t *testing.T, c *redis.Client) int {
	t.Helper()
	info, err := c.Info(context.Background(), "errorstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(info, "errorstat_MOVED:count=")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(rest, "\n", 2)[0]))
	if err != nil {
		t.Fatalf("errorstats: %v", err)
	}
	return n
}
