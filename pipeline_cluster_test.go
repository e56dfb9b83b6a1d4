package redislua

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

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
	loads := countLoads(t, cc)
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
		if got := countNames(cmds); got["evalsha"] != len(cmds) {
			t.Fatalf("round %d: calls sent as %v, want all EVALSHA", round, got)
		}
		want := 1
		if round == 0 {
			want = 2 // and the probe, before the node's first pipeline
		}
		for addr, n := range loads.since() {
			if !masters[addr] {
				t.Fatalf("no key on master %s", addr)
			}
			if n != want {
				t.Fatalf("round %d: %d SCRIPT LOAD on master %s, want %d", round, n, addr, want)
			}
		}
	}
}

// loadCounter counts the SCRIPT LOADs a cluster's masters run.
type loadCounter struct {
	t     *testing.T
	cc    *redis.ClusterClient
	calls map[string]int // by address
}

func countLoads(t *testing.T, cc *redis.ClusterClient) *loadCounter {
	l := &loadCounter{t: t, cc: cc}
	l.calls = l.read()
	return l
}

func (l *loadCounter) read() map[string]int {
	l.t.Helper()
	calls := map[string]int{}
	var mu sync.Mutex
	err := l.cc.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
		n, err := commandCalls(ctx, m, "script|load")
		mu.Lock()
		calls[m.Options().Addr] = n
		mu.Unlock()
		return err
	})
	if err != nil {
		l.t.Fatal(err)
	}
	return calls
}

// since returns the SCRIPT LOADs each master ran since the last call.
func (l *loadCounter) since() map[string]int {
	now := l.read()
	diff := map[string]int{}
	for addr, n := range now {
		diff[addr] = n - l.calls[addr]
	}
	l.calls = now
	return diff
}

// commandCalls is the number of calls of a command (as INFO commandstats
// names it: "evalsha", "script|load") the server ran.
func commandCalls(ctx context.Context, c *redis.Client, name string) (int, error) {
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, err
	}
	_, rest, ok := strings.Cut(info, "cmdstat_"+name+":calls=")
	if !ok {
		return 0, nil
	}
	calls, _, _ := strings.Cut(rest, ",")
	return strconv.Atoi(calls)
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
		if got := countNames(cmds); got["evalsha"] != len(cmds) {
			t.Fatalf("round %d: calls sent as %v, want all EVALSHA", round, got)
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
		if got := countNames(cmds); got["evalsha"] != 50 {
			t.Fatalf("round %d: sent as %v, want 50 evalsha", round, got)
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

// A Ring sends a pipeline's commands without keys to the shard of their
// name: the source goes there once for all of them.
func TestOptimizePipelinesOnRingScriptsWithoutKeys(t *testing.T) {
	a, b := realRedis(t), realRedis(t)
	ring := optimizedRing(t, a, b)
	ctx := context.Background()
	for round := 0; round < 3; round++ {
		a.client.ScriptFlush(ctx)
		b.client.ScriptFlush(ctx)
		cmds := echoes(t, ring, round)
		if got := countNames(cmds); got["evalsha"] != len(cmds) {
			t.Fatalf("round %d: calls sent as %v, want all EVALSHA", round, got)
		}
	}
}

// When a slot has moved since the client read the slot map, the old node
// answers MOVED and go-redis sends the redirected commands to the new node
// through that node's hooks, which must load the script there too. A call
// refused with MOVED or ASK caches nothing on the node that refused it: the
// calls behind it to that node must not depend on it. Run on a cluster of
// its own, since it moves slots.
func TestOptimizePipelinesAfterASlotMoved(t *testing.T) {
	cl := redistest.StartCluster(t, nil)
	cc := cl.Client(t)
	ctx := context.Background()
	if err := OptimizePipelines(cc); err != nil {
		t.Fatal(err)
	}
	s := MustNewScript("incr", incrSrc)
	// Keys of the first master (slots 0-5460), each in a slot of its own.
	var keys []string
	slots := map[int]bool{}
	for i := 0; len(keys) < 4; i++ {
		k := fmt.Sprintf("moved:%d", i)
		if slot := Slot(k); slot <= 5460 && !slots[slot] {
			slots[slot] = true
			keys = append(keys, k)
		}
	}
	stay := keys[0]
	// A first pipeline: the client reads the slot map (and hooks the nodes).
	warm := cc.Pipeline()
	s.Run(ctx, warm, []string{stay}, 1)
	if _, err := warm.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	from, to := cl.Masters[0].Client(t), cl.Masters[1].Client(t)
	fromID, toID := from.ClusterMyID(ctx).Val(), to.ClusterMyID(ctx).Val()
	setSlot := func(c *redis.Client, args ...any) {
		t.Helper()
		if err := c.Do(ctx, append([]any{"cluster", "setslot"}, args...)...).Err(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	// moveSlot moves an empty slot from the first master to the second,
	// as a resharding does, behind the client's back.
	moveSlot := func(slot int) {
		setSlot(to, slot, "importing", fromID)
		setSlot(from, slot, "migrating", toID)
		setSlot(to, slot, "node", toID)
		setSlot(from, slot, "node", toID)
		setSlot(cl.Masters[2].Client(t), slot, "node", toID)
	}
	flush := func() {
		for _, c := range []*redis.Client{from, to} {
			if err := c.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := 1 // stay's counter

	t.Run("redirected calls", func(t *testing.T) {
		move := keys[1]
		moveSlot(Slot(move))
		flush()
		movedBefore := errorCount(t, from, "MOVED")
		pipe := cc.Pipeline()
		first := s.Run(ctx, pipe, []string{stay}, 1)
		var moved []*redis.Cmd
		for i := 0; i < 5; i++ {
			moved = append(moved, s.Run(ctx, pipe, []string{move}, 1))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		want++
		if got, err := first.Int64(); err != nil || got != int64(want) {
			t.Fatalf("call on the unmoved slot = %d, %v; want %d", got, err, want)
		}
		for i, cmd := range moved {
			if got, err := cmd.Int64(); err != nil || got != int64(i+1) {
				t.Fatalf("call %d on the moved slot (%v) = %d, %v; want %d", i, cmd.Args()[0], got, err, i+1)
			}
		}
		if got := countNames(moved); got["evalsha"] != 5 {
			t.Fatalf("moved calls were sent as %v, want EVALSHA after a SCRIPT LOAD on the new master", got)
		}
		if n := to.Exists(ctx, move).Val(); n != 1 {
			t.Fatalf("key %q not on the slot's new master", move)
		}
		// Each MOVED to a script call is checked by one probe (see
		// isNodeRefusal), which the old master refuses with MOVED too.
		if n := errorCount(t, from, "MOVED") - movedBefore; n != 2*5 {
			t.Fatalf("the old master answered MOVED %d times, want 5 calls + 5 probes (the test must exercise redirection)", n)
		}
	})

	// The old master refuses the first call with MOVED; the calls behind
	// it stay there.
	t.Run("first call refused with MOVED", func(t *testing.T) {
		move := keys[2]
		moveSlot(Slot(move))
		flush()
		movedBefore := errorCount(t, from, "MOVED")
		pipe := cc.Pipeline()
		moved := s.Run(ctx, pipe, []string{move}, 1)
		var stays []*redis.Cmd
		for i := 0; i < 4; i++ {
			stays = append(stays, s.Run(ctx, pipe, []string{stay}, 1))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if got, err := moved.Int64(); err != nil || got != 1 {
			t.Fatalf("moved call = %d, %v; want 1", got, err)
		}
		for i, cmd := range stays {
			want++
			if got, err := cmd.Int64(); err != nil || got != int64(want) {
				t.Fatalf("call %d behind the moved one (%v) = %d, %v; want %d", i, cmd.Args()[0], got, err, want)
			}
		}
		if n := errorCount(t, from, "MOVED") - movedBefore; n != 2 {
			t.Fatalf("the old master answered MOVED %d times, want 2 (the call and its probe)", n)
		}
	})

	// A slot being migrated: the old master answers ASK for a key it does
	// not have, and the first call goes to the new master with ASKING.
	t.Run("first call refused with ASK", func(t *testing.T) {
		ask := keys[3]
		setSlot(to, Slot(ask), "importing", fromID)
		setSlot(from, Slot(ask), "migrating", toID)
		flush()
		askBefore := errorCount(t, from, "ASK")
		pipe := cc.Pipeline()
		asked := s.Run(ctx, pipe, []string{ask}, 1)
		var stays []*redis.Cmd
		for i := 0; i < 4; i++ {
			stays = append(stays, s.Run(ctx, pipe, []string{stay}, 1))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if got, err := asked.Int64(); err != nil || got != 1 {
			t.Fatalf("asked call = %d, %v; want 1", got, err)
		}
		for i, cmd := range stays {
			want++
			if got, err := cmd.Int64(); err != nil || got != int64(want) {
				t.Fatalf("call %d behind the asked one (%v) = %d, %v; want %d", i, cmd.Args()[0], got, err, want)
			}
		}
		if n := errorCount(t, from, "ASK") - askBefore; n != 2 {
			t.Fatalf("the old master answered ASK %d times, want 2 (the call and its probe)", n)
		}
	})
}

// errorCount is the number of errors with the given prefix (MOVED, ASK)
// a node has replied.
func errorCount(t *testing.T, c *redis.Client, prefix string) int {
	t.Helper()
	info, err := c.Info(context.Background(), "errorstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(info, "errorstat_"+prefix+":count=")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(rest, "\n", 2)[0]))
	if err != nil {
		t.Fatalf("errorstats: %v", err)
	}
	return n
}

// A Ring routes a command by its name when it has no keys: a naive
// rewrite sends a script's EVALSHA to a shard that never saw its source.

// newRing returns a Ring over three new redis-servers, with
// OptimizePipelines, and clients of the three servers. With these shard
// names, go-redis routes the names EVAL, EVALSHA and EVALSHA_RO (which it
// uses as the key of a command without keys) to three different shards,
// and EVAL_RO to EVAL's.
func newRing(t *testing.T) (*redis.Ring, []*redis.Client) {
	t.Helper()
	addrs := map[string]string{}
	var shards []*redis.Client
	for _, name := range []string{"one", "two", "three"} {
		srv := redistest.Start(t)
		addrs[name] = srv.Addr
		shards = append(shards, srv.Client(t))
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: addrs})
	t.Cleanup(func() { _ = ring.Close() })
	if err := OptimizePipelines(ring); err != nil {
		t.Fatal(err)
	}
	return ring, shards
}

// flushAll empties the script cache of every client.
func flushAll(t *testing.T, clients []*redis.Client) {
	t.Helper()
	for _, c := range clients {
		if err := c.ScriptFlush(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// A Ring routes a pipeline's commands without keys by their name, so an
// EVAL and an EVALSHA of the same script reach different shards: the hook
// must rewrite them after routing, per shard.
func TestOptimizePipelinesOnRingScriptsWithoutKeysThreeShards(t *testing.T) {
	ring, shards := newRing(t)
	ctx := context.Background()
	shardOf := func(name string) string {
		c, err := ring.GetShardClientForKey(name)
		if err != nil {
			t.Fatal(err)
		}
		return c.Options().Addr
	}
	if shardOf(cmdEval) == shardOf(cmdEvalSha) || shardOf(cmdEvalRO) == shardOf(cmdEvalShaRO) {
		t.Fatal("the Ring sends EVAL and EVALSHA without keys to the same shard: the test needs other shard names")
	}
	echo := MustNewScript("echo", "return ARGV[1]")
	echoRO := MustNewScript("echo-ro", "-- @readonly\nreturn ARGV[1]")
	for _, tx := range []bool{false, true} {
		for round := 0; round < 3; round++ {
			flushAll(t, shards)
			pipe := ring.Pipeline()
			if tx {
				pipe = ring.TxPipeline()
			}
			var cmds []*redis.Cmd
			for i := 0; i < 5; i++ {
				s := echo
				if i%2 == 1 {
					s = echoRO
				}
				cmds = append(cmds, s.Run(ctx, pipe, nil, i))
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Errorf("tx=%v round %d: Exec: %v", tx, round, err)
			}
			for i, cmd := range cmds {
				if got, err := cmd.Int64(); err != nil || got != int64(i) {
					t.Fatalf("tx=%v round %d call %d (%v) = %d, %v; want %d", tx, round, i, cmd.Args()[0], got, err, i)
				}
			}
		}
	}
}

// A Ring pipeline over many keys: each shard gets the source once, and the
// other calls are EVALSHA, however many distinct keys there are.
func TestOptimizePipelinesOnRingManyKeys(t *testing.T) {
	ring, shards := newRing(t)
	ctx := context.Background()
	s := MustNewScript("incr", incrSrc)
	const n = 3000
	for round := 1; round <= 2; round++ {
		flushAll(t, shards)
		pipe := ring.Pipeline()
		cmds := make([]*redis.Cmd, n)
		for i := range cmds {
			cmds[i] = s.Run(ctx, pipe, []string{"many:" + strconv.Itoa(i)}, 1)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, cmd := range cmds {
			if got, err := cmd.Int64(); err != nil || got != int64(round) {
				t.Fatalf("round %d call %d = %d, %v; want %d", round, i, got, err, round)
			}
		}
		if got := countNames(cmds); got["evalsha"] != n {
			t.Fatalf("round %d: %d calls on 3 shards were sent as %v, want all EVALSHA", round, n, got)
		}
	}
}

// BenchmarkRingPipeline40k sends one pipeline of 40,000 calls, each on a
// key of its own, through a Ring of three redis-servers, without the hook
// (a plain EVAL per call) and with OptimizePipelines. One op is one
// pipeline; evals/op counts the calls sent as EVAL.
func BenchmarkRingPipeline40k(b *testing.B) {
	const calls = 40000
	ctx := context.Background()
	addrs := map[string]string{}
	for _, name := range []string{"one", "two", "three"} {
		addrs[name] = redistest.Start(b).Addr
	}
	s := MustNewScript("incr", incrSrc)
	keys := make([]string, calls)
	for i := range keys {
		keys[i] = "ring40k:" + strconv.Itoa(i)
	}
	for _, optimized := range []bool{false, true} {
		name := "impl=plain-eval"
		if optimized {
			name = "impl=optimized"
		}
		b.Run(name, func(b *testing.B) {
			ring := redis.NewRing(&redis.RingOptions{Addrs: addrs})
			b.Cleanup(func() { _ = ring.Close() })
			if optimized {
				if err := OptimizePipelines(ring); err != nil {
					b.Fatal(err)
				}
			}
			evals := 0
			b.ReportAllocs()
			for b.Loop() {
				pipe := ring.Pipeline()
				cmds := make([]*redis.Cmd, calls)
				for i, k := range keys {
					cmds[i] = s.Run(ctx, pipe, []string{k}, 1)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					b.Fatal(err)
				}
				evals += countNames(cmds)["eval"]
			}
			b.ReportMetric(float64(evals)/float64(b.N), "evals/op")
		})
	}
}
