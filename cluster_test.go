package redislua

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
)

func TestSlotKnownValues(t *testing.T) {
	for key, want := range map[string]int{
		"foo": 12182, "bar": 5061, "hello": 866, "123456789": 0x31C3 % 16384,
		"{user1000}.following": Slot("user1000"), "{user1000}.followers": Slot("user1000"),
		"foo{}{bar}": Slot("foo{}{bar}"), "foo{{bar}}zap": Slot("{bar"), "foo{bar}{zap}": Slot("bar"),
	} {
		if got := Slot(key); got != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
		}
	}
}

// The slot computed here must be the server's, for every kind of key.
func TestSlotEqualsClusterKeyslot(t *testing.T) {
	node := redistest.SharedCluster(t).Masters[0].Client(t)
	ctx := context.Background()
	keys := []string{"", "{", "}", "}{", "{}", "{}a", "{a}{b}", "{{a}}", "a{b", "a}b{c}",
		"\x00\xff{\x01}", "ключ{тег}", "鍵", "emoji{🔑}x"}
	rng := rand.New(rand.NewSource(1))
	alphabet := []byte("ab{}\x00\xffé:")
	for len(keys) < 10000+14 {
		b := make([]byte, rng.Intn(24))
		for i := range b {
			if rng.Intn(3) == 0 {
				b[i] = alphabet[rng.Intn(len(alphabet))]
			} else {
				b[i] = byte(rng.Intn(256))
			}
		}
		keys = append(keys, string(b))
	}
	pipe := node.Pipeline()
	cmds := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.ClusterKeySlot(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if got, want := Slot(k), int(cmds[i].Val()); got != want {
			t.Errorf("Slot(%q) = %d, CLUSTER KEYSLOT = %d", k, got, want)
		}
	}
}

func TestCheckSlots(t *testing.T) {
	if err := CheckSlots(); err != nil {
		t.Errorf("no keys: %v", err)
	}
	if err := CheckSlots("{u1}:a", "{u1}:b", "u1"); err != nil {
		t.Errorf("shared tag: %v", err)
	}
	err := CheckSlots("{u1}:a", "{u1}:b", "{u2}:c")
	var cse *CrossSlotError
	if !errors.Is(err, ErrCrossSlot) || !errors.As(err, &cse) {
		t.Fatalf("err = %v, want *CrossSlotError", err)
	}
	if fmt.Sprint(cse.Keys) != "[{u1}:a {u2}:c]" || cse.Slots[0] != Slot("u1") || cse.Slots[1] != Slot("u2") {
		t.Errorf("Keys %v Slots %v, want the first key and the one that differs", cse.Keys, cse.Slots)
	}
	if !strings.Contains(err.Error(), "hash tag") {
		t.Errorf("message %q does not suggest a hash tag", err)
	}
}

func TestCheckSlotsAllocatesNothingWhenKeysAgree(t *testing.T) {
	keys := []string{"{user}:1", "{user}:2", "{user}:3"}
	if n := testing.AllocsPerRun(100, func() { _ = CheckSlots(keys...) }); n != 0 {
		t.Fatalf("CheckSlots allocates %v times", n)
	}
}

// On a cluster client, cross-slot keys are refused before anything is sent;
// the same keys with a shared hash tag run.
func TestClusterRefusesCrossSlotBeforeSending(t *testing.T) {
	cc := sharedCluster(t)
	rec := &testbackend.Recorder{}
	cc.AddHook(rec)
	ctx := context.Background()
	s := MustNewScript("pair", "redis.call('SET', KEYS[1], 1)\nreturn redis.call('INCR', KEYS[2])")

	err := s.Run(ctx, cc, []string{"cross:a", "cross:b"}).Err()
	var cse *CrossSlotError
	if !errors.As(err, &cse) || cse.Script != "pair" {
		t.Fatalf("err = %v, want *CrossSlotError naming the script", err)
	}
	if sent := rec.Take(); len(sent) != 0 {
		t.Fatalf("sent %v before refusing", sent)
	}
	if err := s.Run(ctx, cc, []string{"{cross}:a", "{cross}:b"}).Err(); err != nil {
		t.Fatalf("same-tag keys: %v", err)
	}
}

// RegistryOptions.ClusterChecks catches the cross-slot bug on a laptop; without it,
// standalone behaviour is unchanged.
func TestClusterChecksOnStandalone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		files := fstest.MapFS{"pair.lua": {Data: []byte("return redis.call('MSET', KEYS[1], 1, KEYS[2], 2)")}}
		checked, err := NewRegistry(files, &RegistryOptions{ClusterChecks: true})
		if err != nil {
			t.Fatal(err)
		}
		unchecked, _ := NewRegistry(files, nil)
		b.sent.Take()
		if err := checked.Run(ctx, b.client, "pair", []string{"a", "b"}).Err(); !errors.Is(err, ErrCrossSlot) {
			t.Fatalf("checked registry: err = %v, want ErrCrossSlot", err)
		}
		if sent := b.sent.Take(); len(sent) != 0 {
			t.Fatalf("sent %v", sent)
		}
		if err := unchecked.Run(ctx, b.client, "pair", []string{"a", "b"}).Err(); err != nil {
			t.Fatalf("unchecked registry: %v", err)
		}
		if err := checked.Run(ctx, b.client, "pair", []string{"{t}a", "{t}b"}).Err(); err != nil {
			t.Fatalf("checked registry, shared tag: %v", err)
		}
	})
}

// A script flagged allow-cross-slot-keys is exempt from the check (real
// Redis: miniredis rejects a shebang).
func TestAllowCrossSlotKeysFlagSkipsTheCheck(t *testing.T) {
	reg, _ := NewRegistry(nil, &RegistryOptions{ClusterChecks: true})
	s, err := reg.Add("x", "#!lua flags=allow-cross-slot-keys\nreturn #KEYS")
	if err != nil {
		t.Fatal(err)
	}
	b := realRedis(t)
	if n, err := s.Run(context.Background(), b.client, []string{"a", "b"}).Int64(); err != nil || n != 2 {
		t.Fatalf("Run = %d, %v", n, err)
	}
}

// uniqueRegistry returns a registry whose scripts no other test loads, so
// that cache checks on the shared cluster are this test's own.
func uniqueRegistry(t *testing.T, n int) *Registry {
	t.Helper()
	reg, _ := NewRegistry(nil, nil)
	for i := 0; i < n; i++ {
		src := fmt.Sprintf("-- %s %d\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])", t.Name(), i)
		if _, err := reg.Add("s"+strconv.Itoa(i), src); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

func TestLoadAllLoadsEveryClusterNode(t *testing.T) {
	cl := redistest.SharedCluster(t)
	cc := cl.Client(t)
	ctx := context.Background()
	reg := uniqueRegistry(t, 5)
	s := reg.MustScript("s0")
	if ok, err := s.Exists(ctx, cc); err != nil || ok {
		t.Fatalf("Exists before LoadAll = %v, %v", ok, err)
	}
	if err := reg.LoadAll(ctx, cc); err != nil {
		t.Fatal(err)
	}
	nodes := cl.Nodes()
	if len(nodes) != 6 {
		t.Fatalf("cluster has %d nodes, want 3 masters + 3 replicas", len(nodes))
	}
	for _, node := range nodes {
		c := node.Client(t)
		for _, s := range reg.Scripts() {
			found, err := c.ScriptExists(ctx, s.SHA()).Result()
			if err != nil || !found[0] {
				t.Errorf("%s missing on %s: %v", s.Name(), node.Addr, err)
			}
		}
	}
	if ok, err := s.Exists(ctx, cc); err != nil || !ok {
		t.Fatalf("Exists after LoadAll = %v, %v", ok, err)
	}
	// Exists is true only when every node has it.
	if err := nodes[len(nodes)-1].Client(t).ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Exists(ctx, cc); err != nil || ok {
		t.Fatalf("Exists after flushing one node = %v, %v; want false", ok, err)
	}
	if err := s.Load(ctx, cc); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Exists(ctx, cc); !ok {
		t.Fatal("Script.Load did not load every node")
	}
}

// keysAcrossSlots returns n keys spread over the whole slot range, so that
// calls reach all three masters.
func keysAcrossSlots(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = prefix + ":" + strconv.Itoa(i)
	}
	return keys
}

// SCRIPT FLUSH on one node while 16 goroutines run scripts on keys of every
// slot: NOSCRIPT is recovered per node and no caller sees an error.
func TestClusterFlushOneNodeWhileRunning(t *testing.T) {
	cl := redistest.SharedCluster(t)
	cc := cl.Client(t)
	ctx := context.Background()
	s := uniqueRegistry(t, 1).MustScript("s0")
	keys := keysAcrossSlots(t.Name(), 64)
	victim := cl.Masters[1].Client(t)

	const workers, rounds = 16, 20
	var (
		wg      sync.WaitGroup
		done    = make(chan struct{})
		flushes atomic.Int64
		errs    = make(chan error, workers*rounds*4)
	)
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				if victim.ScriptFlush(ctx).Err() == nil {
					flushes.Add(1)
				}
			}
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				for i := 0; i < 4; i++ {
					key := keys[(w*4+i)%len(keys)]
					if err := s.Run(ctx, cc, []string{key}, 1).Err(); err != nil {
						errs <- err
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(done)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var total int64
	for _, k := range keys {
		n, _ := cc.Get(ctx, k).Int64()
		total += n
	}
	if total != workers*rounds*4 {
		t.Fatalf("counters sum to %d, want %d", total, workers*rounds*4)
	}
	if flushes.Load() == 0 {
		t.Fatal("the node was never flushed during the run")
	}
}

// A 200-call pipeline over keys on all three masters, right after SCRIPT
// FLUSH on every node: plain EVAL cannot hit NOSCRIPT.
func TestClusterPipelineAfterFlushEverywhere(t *testing.T) {
	cc := sharedCluster(t)
	ctx := context.Background()
	s := uniqueRegistry(t, 1).MustScript("s0")
	if err := cc.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
		return n.ScriptFlush(ctx).Err()
	}); err != nil {
		t.Fatal(err)
	}
	keys := keysAcrossSlots(t.Name(), 200)
	masters := map[int]bool{}
	pipe := cc.Pipeline()
	cmds := make([]*redis.Cmd, len(keys))
	for i, k := range keys {
		cmds[i] = s.Run(ctx, pipe, []string{k}, i)
		masters[Slot(k)*3/16384] = true
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range cmds {
		if got, err := cmd.Int64(); err != nil || got != int64(i) {
			t.Fatalf("call %d = %d, %v", i, got, err)
		}
	}
	if len(masters) != 3 {
		t.Fatalf("keys reached %d thirds of the slot range, want 3", len(masters))
	}
}

// Read-only scripts may be routed to replicas (ReadOnly client option);
// their script caches start empty, and the NOSCRIPT fallback covers them.
func TestClusterReadOnlyScriptsOnReplicas(t *testing.T) {
	cl := redistest.SharedCluster(t)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs(), ReadOnly: true})
	t.Cleanup(func() { _ = cc.Close() })
	ctx := context.Background()
	reg, _ := NewRegistry(nil, nil)
	s, err := reg.Add("peek", "-- @readonly\n-- "+t.Name()+"\nreturn redis.call('EXISTS', KEYS[1])")
	if err != nil {
		t.Fatal(err)
	}
	before := replicaROCalls(t, cl)
	for i, k := range keysAcrossSlots(t.Name(), 30) {
		if _, err := s.Run(ctx, cc, []string{k}).Int64(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if after := replicaROCalls(t, cl); after <= before {
		t.Fatalf("replicas ran %d read-only script calls, want more than %d", after, before)
	}
}

// replicaROCalls sums EVALSHA_RO and EVAL_RO calls the replicas served.
func replicaROCalls(t *testing.T, cl *redistest.Cluster) int {
	t.Helper()
	total := 0
	for _, r := range cl.Replicas {
		stats := r.Client(t).Info(context.Background(), "commandstats").Val()
		for _, line := range strings.Split(stats, "\n") {
			if strings.HasPrefix(line, "cmdstat_evalsha_ro:") || strings.HasPrefix(line, "cmdstat_eval_ro:") {
				var n int
				fmt.Sscanf(line[strings.Index(line, "calls=")+6:], "%d", &n)
				total += n
			}
		}
	}
	return total
}
