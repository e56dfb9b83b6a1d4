package redislua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
)

// apSetup is an AutoPipeliner on a real server or on the shared cluster,
// with the client it was made from.
type apSetup struct {
	ap     *redis.AutoPipeliner
	client redis.UniversalClient
	// masters runs fn on the standalone server, or on every master.
	masters func(ctx context.Context, fn func(ctx context.Context, c *redis.Client) error) error
	sent    *testbackend.Recorder
}

// autoPipelined runs fn with an AutoPipeliner of a fresh redis-server and
// one of the shared cluster, each with and without OptimizePipelines on
// the client under it.
func autoPipelined(t *testing.T, fn func(t *testing.T, s apSetup)) {
	t.Helper()
	for _, optimize := range []bool{false, true} {
		suffix := ""
		if optimize {
			suffix = "+optimize"
		}
		t.Run("redis"+suffix, func(t *testing.T) {
			c := realRedis(t).client
			fn(t, newAPSetup(t, c, optimize, func(ctx context.Context, fn func(ctx context.Context, c *redis.Client) error) error {
				return fn(ctx, c)
			}))
		})
		t.Run("cluster"+suffix, func(t *testing.T) {
			cc := sharedCluster(t)
			fn(t, newAPSetup(t, cc, optimize, cc.ForEachMaster))
		})
	}
}

func newAPSetup(t *testing.T, c redis.UniversalClient, optimize bool, masters func(context.Context, func(context.Context, *redis.Client) error) error) apSetup {
	t.Helper()
	sent := &testbackend.Recorder{}
	c.AddHook(sent)
	if optimize {
		if err := OptimizePipelines(c); err != nil {
			t.Fatal(err)
		}
	}
	var ap *redis.AutoPipeliner
	var err error
	switch c := c.(type) {
	case *redis.Client:
		ap, err = c.AutoPipeline()
	case *redis.ClusterClient:
		ap, err = c.AutoPipeline()
	}
	if err != nil {
		t.Fatalf("AutoPipeline: %v", err)
	}
	t.Cleanup(func() { _ = ap.Close() })
	return apSetup{ap: ap, client: c, masters: masters, sent: sent}
}

// flushLoop runs flush every few milliseconds until the returned stop is
// called, which returns how many flushes succeeded.
func flushLoop(t *testing.T, flush func(ctx context.Context) error) (stop func() int) {
	t.Helper()
	done := make(chan struct{})
	var n atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(3 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if err := flush(context.Background()); err != nil {
				t.Errorf("flush: %v", err)
				return
			}
			n.Add(1)
		}
	}()
	return func() int {
		close(done)
		wg.Wait()
		return int(n.Load())
	}
}

const (
	apWorkers = 64
	apCalls   = 60
)

// storm runs apWorkers goroutines making apCalls calls each, spread over
// keys, until all are done; then stops the flush loop and checks that no
// call failed and that the counters at keys add up to the number of calls
// (none ran twice or not at all). It returns the flushes made meanwhile.
func storm(t *testing.T, s apSetup, keys []string, stop func() int, call func(key string) error) (flushes int) {
	t.Helper()
	var failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := range apWorkers {
		wg.Go(func() {
			for i := range apCalls {
				if err := call(keys[(w+i)%len(keys)]); err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	flushes = stop()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d calls failed; first: %v", n, apWorkers*apCalls, firstErr.Load())
	}
	var total int64
	for _, k := range keys {
		v, err := s.client.Get(context.Background(), k).Int64()
		if err != nil {
			t.Fatalf("GET %s: %v", k, err)
		}
		total += v
	}
	if want := int64(apWorkers * apCalls); total != want {
		t.Errorf("counters add up to %d, want %d (a call ran twice or not at all)", total, want)
	}
	return flushes
}

// Many goroutines run a side-effecting script through one AutoPipeliner
// while the script cache is flushed (on every master) every few
// milliseconds: every call succeeds and runs exactly once, so the counters
// add up to the number of calls.
func TestAutoPipelinerScriptFlush(t *testing.T) {
	autoPipelined(t, func(t *testing.T, s apSetup) {
		ctx := context.Background()
		incr, err := NewScript("ap_incrby", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
		if err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 16) // spread over the cluster's masters
		for i := range keys {
			keys[i] = fmt.Sprintf("ap:flush:%s:%d", t.Name(), i)
		}
		stop := flushLoop(t, func(ctx context.Context) error {
			return s.masters(ctx, func(ctx context.Context, c *redis.Client) error { return c.ScriptFlush(ctx).Err() })
		})
		flushes := storm(t, s, keys, stop, func(key string) error {
			return incr.Run(ctx, s.ap, []string{key}, 1).Err()
		})
		if flushes == 0 || s.sent.Seen("eval") == 0 {
			t.Errorf("%d flushes, %d EVAL fallbacks: the test did not exercise NOSCRIPT", flushes, s.sent.Seen("eval"))
		}
		t.Logf("%d flushes, %d EVALSHA, %d EVAL", flushes, s.sent.Seen("evalsha"), s.sent.Seen("eval"))
	})
}

// The same with a Function whose library is flushed (FUNCTION FLUSH) or
// deleted (FUNCTION DELETE) on every master in a loop: a call that finds
// it missing loads it again and calls again, and every call has exactly
// one effect.
func TestAutoPipelinerFunctionFlush(t *testing.T) {
	for _, how := range []string{"flush", "delete"} {
		t.Run(how, func(t *testing.T) {
			autoPipelined(t, func(t *testing.T, s apSetup) {
				ctx := context.Background()
				lib := "aplib_" + how
				reg := libRegistry(t, map[string]string{lib + ".lua": counterLib(lib)})
				fn, err := reg.Function(lib + "_incr")
				if err != nil {
					t.Fatal(err)
				}
				if err := reg.LoadAll(ctx, s.ap); err != nil {
					t.Fatalf("LoadAll: %v", err)
				}
				keys := make([]string, 16)
				for i := range keys {
					keys[i] = fmt.Sprintf("ap:fn:%s:%d", t.Name(), i)
				}
				stop := flushLoop(t, func(ctx context.Context) error {
					return s.masters(ctx, func(ctx context.Context, c *redis.Client) error {
						if how == "flush" {
							return c.FunctionFlush(ctx).Err()
						}
						err := c.FunctionDelete(ctx, lib).Err()
						if err != nil && strings.Contains(err.Error(), "Library not found") {
							return nil
						}
						return err
					})
				})
				flushes := storm(t, s, keys, stop, func(key string) error {
					return fn.Call(ctx, s.ap, []string{key}, 1).Err()
				})
				// Only calls that found the function missing are sent again.
				if flushes == 0 || s.sent.Seen("fcall") <= apWorkers*apCalls {
					t.Errorf("%d flushes, %d FCALL for %d calls: the test did not exercise a missing function", flushes, s.sent.Seen("fcall"), apWorkers*apCalls)
				}
				t.Logf("%d runs of FUNCTION %s, %d FCALL", flushes, strings.ToUpper(how), s.sent.Seen("fcall"))
			})
		})
	}
}

// The errors of a call through an AutoPipeliner are those of a call
// through its client: a Lua error is a *ScriptError with file and line,
// and on a cluster, cross-slot keys are refused before anything is sent.
func TestAutoPipelinerErrors(t *testing.T) {
	autoPipelined(t, func(t *testing.T, s apSetup) {
		ctx := context.Background()
		reg := libRegistry(t, map[string]string{
			"boom.lua": "local x = 1\nerror('boom ' .. x)\n",
			"two.lua":  "return redis.call('MSET', KEYS[1], 1, KEYS[2], 2)\n",
		})
		err := reg.Run(ctx, s.ap, "boom", []string{"ap:err:" + t.Name()}).Err()
		var se *ScriptError
		if !errors.As(err, &se) || se.File != "boom.lua" || se.Line != 2 {
			t.Errorf("Run boom: %v (%T), want a *ScriptError at boom.lua:2", err, err)
		}
		if !strings.Contains(err.Error(), "boom 1") {
			t.Errorf("Run boom: %v, want the message", err)
		}
		_, isCluster := s.client.(*redis.ClusterClient)
		if !isCluster {
			return
		}
		before := s.sent.Seen("evalsha") + s.sent.Seen("eval")
		err = reg.Run(ctx, s.ap, "two", []string{"ap:a", "ap:b"}).Err()
		var cse *CrossSlotError
		if !errors.Is(err, ErrCrossSlot) || !errors.As(err, &cse) {
			t.Errorf("Run two on a cluster: %v (%T), want a *CrossSlotError", err, err)
		}
		if after := s.sent.Seen("evalsha") + s.sent.Seen("eval"); after != before {
			t.Errorf("%d script commands sent for a cross-slot call, want none", after-before)
		}
		lib := "aperr"
		lreg := libRegistry(t, map[string]string{lib + ".lua": counterLib(lib)})
		fn, _ := lreg.Function(lib + "_incr")
		before = s.sent.Seen("fcall")
		err = fn.Call(ctx, s.ap, []string{"ap:a", "ap:b"}).Err()
		if !errors.Is(err, ErrCrossSlot) {
			t.Errorf("Function.Call on a cluster with cross-slot keys: %v, want ErrCrossSlot", err)
		}
		if after := s.sent.Seen("fcall"); after != before {
			t.Errorf("%d FCALL sent for a cross-slot call, want none", after-before)
		}
	})
}

// A call whose context has ended is not sent; one whose deadline passes
// while the server is busy returns at the deadline with the context's
// error, as it does on the client.
func TestAutoPipelinerContext(t *testing.T) {
	autoPipelined(t, func(t *testing.T, s apSetup) {
		// Observed: a call that returns at its deadline gives its Call
		// back while its command is still out (run with -race).
		if err := Observe(s.client, &recorder{}); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = Observe(s.client, nil) }()
		key := "ap:ctx:" + t.Name()
		incr, err := NewScript("ap_ctx_incr", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		before := s.sent.Seen("evalsha") + s.sent.Seen("eval")
		if err := incr.Run(ctx, s.ap, []string{key}, 1).Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run with a cancelled context: %v, want context.Canceled", err)
		}
		if after := s.sent.Seen("evalsha") + s.sent.Seen("eval"); after != before {
			t.Errorf("%d commands sent with a cancelled context, want none", after-before)
		}
		if n, err := s.client.Exists(context.Background(), key).Result(); err != nil || n != 0 {
			t.Errorf("EXISTS %s: %d, %v; want 0: the call ran", key, n, err)
		}

		// A script that keeps the key's server busy for 400ms.
		slow, err := NewScript("ap_ctx_slow", "local t = redis.call('TIME')\n"+
			"local stop = t[1] * 1000000 + t[2] + 400000\n"+
			"while true do\n"+
			"  t = redis.call('TIME')\n"+
			"  if t[1] * 1000000 + t[2] >= stop then break end\n"+
			"end\n"+
			"return redis.call('INCR', KEYS[1])\n")
		if err != nil {
			t.Fatal(err)
		}
		if err := slow.Load(context.Background(), s.ap); err != nil {
			t.Fatal(err)
		}
		dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer dcancel()
		start := time.Now()
		key = key + ":slow"
		err = slow.Run(dctx, s.ap, []string{key}).Err()
		took := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Run past its deadline: %v, want context.DeadlineExceeded", err)
		}
		if took > 300*time.Millisecond {
			t.Errorf("Run past a 50ms deadline returned after %v, want about 50ms", took)
		}
		// The outcome was unknown: the script did run, once.
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, err := s.client.Get(context.Background(), key).Int64()
			if err == nil && n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %d, %v; want 1", key, n, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// An observed client used through its AutoPipeliner: each Run and Call is
// one observed call (its fallback included), and the AutoPipeliner's
// batches are not reported as pipelines besides.
func TestAutoPipelinerObserved(t *testing.T) {
	autoPipelined(t, func(t *testing.T, s apSetup) {
		ctx := context.Background()
		rec := &recorder{}
		if err := Observe(s.client, rec); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = Observe(s.client, nil) }()
		incr, err := NewScript("ap_obs_incr", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.masters(ctx, func(ctx context.Context, c *redis.Client) error { return c.ScriptFlush(ctx).Err() }); err != nil {
			t.Fatal(err)
		}
		const n = 32
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := incr.Run(ctx, s.ap, []string{fmt.Sprintf("ap:obs:%s:%d", t.Name(), i)}, 1).Err(); err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
		}
		wg.Wait()
		calls, errs := rec.take(t)
		if len(calls) != n {
			t.Fatalf("%d calls observed, want %d: %+v", len(calls), n, calls)
		}
		fallbacks := 0
		for i, c := range calls {
			if c.Name != "ap_obs_incr" || c.Command != "EVALSHA" || errs[i] != nil {
				t.Errorf("call %d: %q %q err %v, want ap_obs_incr EVALSHA nil", i, c.Name, c.Command, errs[i])
			}
			if !c.FallbackAt.IsZero() {
				fallbacks++
			}
		}
		if fallbacks == 0 {
			t.Errorf("no call observed its NOSCRIPT fallback after SCRIPT FLUSH")
		}
	})
}

// RunAndWait through an AutoPipeliner runs on the client under it, in a
// pipeline of its own with the WAIT: the replicas acknowledge the write.
func TestAutoPipelinerRunAndWait(t *testing.T) {
	ctx := context.Background()
	incr, err := NewScript("ap_wait_incr", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
	if err != nil {
		t.Fatal(err)
	}
	clients := map[string]redis.UniversalClient{}
	master := redistest.Start(t)
	redistest.StartReplica(t, master)
	clients["redis"] = master.Client(t)
	clients["cluster"] = sharedCluster(t)
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			var ap *redis.AutoPipeliner
			switch c := c.(type) {
			case *redis.Client:
				ap, err = c.AutoPipeline()
			case *redis.ClusterClient:
				ap, err = c.AutoPipeline()
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ap.Close()
			r := Replicas{N: 1, Timeout: time.Second}
			if err := r.Check(ap); err != nil {
				t.Errorf("Replicas.Check(AutoPipeliner): %v", err)
			}
			cmd, err := incr.RunAndWait(ctx, ap, r, []string{"ap:wait:" + name}, 5)
			if err != nil || cmd.Val() != int64(5) {
				t.Errorf("RunAndWait: %v, %v; want 5, nil", cmd.Val(), err)
			}
		})
	}
}

// Load, Exists and LoadAll through an AutoPipeliner reach every node of
// a cluster, as through its client; KillScript asks every master.
func TestAutoPipelinerLoad(t *testing.T) {
	autoPipelined(t, func(t *testing.T, s apSetup) {
		ctx := context.Background()
		reg := libRegistry(t, map[string]string{
			"ap_load_a.lua": "return 'a " + t.Name() + "'\n",
			"ap_load_b.lua": "return 'b " + t.Name() + "'\n",
		})
		flushAll := func() {
			t.Helper()
			err := s.masters(ctx, func(ctx context.Context, c *redis.Client) error { return c.ScriptFlush(ctx).Err() })
			if err != nil {
				t.Fatal(err)
			}
		}
		allHave := func(sha string) bool {
			t.Helper()
			found := true
			var mu sync.Mutex
			check := func(ctx context.Context, c *redis.Client) error {
				ok, err := c.ScriptExists(ctx, sha).Result()
				if err != nil {
					return err
				}
				mu.Lock()
				found = found && ok[0]
				mu.Unlock()
				return nil
			}
			var err error
			if cc, ok := s.client.(*redis.ClusterClient); ok {
				err = cc.ForEachShard(ctx, check)
			} else {
				err = check(ctx, s.client.(*redis.Client))
			}
			if err != nil {
				t.Fatal(err)
			}
			return found
		}
		a, b := reg.MustScript("ap_load_a"), reg.MustScript("ap_load_b")

		flushAll()
		if ok, err := a.Exists(ctx, s.ap); err != nil || ok {
			t.Errorf("Exists after SCRIPT FLUSH: %v, %v; want false", ok, err)
		}
		if err := a.Load(ctx, s.ap); err != nil {
			t.Fatalf("Load: %v", err)
		}
		if !allHave(a.SHA()) {
			t.Errorf("Load through the AutoPipeliner: not every node has the script")
		}
		if ok, err := a.Exists(ctx, s.ap); err != nil || !ok {
			t.Errorf("Exists after Load: %v, %v; want true", ok, err)
		}

		flushAll()
		if err := reg.LoadAll(ctx, s.ap); err != nil {
			t.Fatalf("LoadAll: %v", err)
		}
		if !allHave(a.SHA()) || !allHave(b.SHA()) {
			t.Errorf("LoadAll through the AutoPipeliner: not every node has every script")
		}
		if err := KillScript(ctx, s.ap); !errors.Is(err, ErrNotBusy) {
			t.Errorf("KillScript with no script running: %v, want ErrNotBusy", err)
		}
	})
}

// The AutoPipeliner's client is found, for a server's and a cluster's.
func TestAutoPipelinerClientOf(t *testing.T) {
	c := realRedis(t).client
	cc := sharedCluster(t)
	ap, err := c.AutoPipeline()
	if err != nil {
		t.Fatal(err)
	}
	defer ap.Close()
	cap, err := cc.AutoPipeline()
	if err != nil {
		t.Fatal(err)
	}
	defer cap.Close()
	if got := clientOf(ap); got != redis.Scripter(c) {
		t.Errorf("clientOf(server's AutoPipeliner) = %T %p, want the *redis.Client %p", got, got, c)
	}
	if got := clientOf(cap); got != redis.Scripter(cc) {
		t.Errorf("clientOf(cluster's AutoPipeliner) = %T %p, want the *redis.ClusterClient %p", got, got, cc)
	}
	if got := clientOf(c); got != redis.Scripter(c) {
		t.Errorf("clientOf(client) = %T, want the client itself", got)
	}
	// Alternating, through the one-entry cache: each gets its own client.
	for i := range 4 {
		if got := clientOf(ap); got != redis.Scripter(c) {
			t.Errorf("round %d: clientOf(server's AutoPipeliner) = %T %p, want %p", i, got, got, c)
		}
		if got := clientOf(ap); got != redis.Scripter(c) {
			t.Errorf("round %d, again: clientOf(server's AutoPipeliner) = %T %p, want %p", i, got, got, c)
		}
		if got := clientOf(cap); got != redis.Scripter(cc) {
			t.Errorf("round %d: clientOf(cluster's AutoPipeliner) = %T %p, want %p", i, got, got, cc)
		}
	}
}

// OptimizePipelines and Observe given an AutoPipeliner act on its client:
// on a cluster the hooks go on the nodes (a pipeline of calls on several
// masters after SCRIPT FLUSH has no NOSCRIPT), and calls through the
// client are observed.
func TestAutoPipelinerHooksGoToItsClient(t *testing.T) {
	ctx := context.Background()
	cc := sharedCluster(t)
	ap, err := cc.AutoPipeline()
	if err != nil {
		t.Fatal(err)
	}
	defer ap.Close()
	if err := OptimizePipelines(ap); err != nil {
		t.Fatalf("OptimizePipelines(AutoPipeliner): %v", err)
	}
	rec := &recorder{}
	if err := Observe(ap, rec); err != nil {
		t.Fatalf("Observe(AutoPipeliner): %v", err)
	}
	defer func() { _ = Observe(cc, nil) }()
	incr, err := NewScript("ap_hooks_incr", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
	if err != nil {
		t.Fatal(err)
	}
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.ScriptFlush(ctx).Err() }); err != nil {
		t.Fatal(err)
	}
	pipe := cc.Pipeline()
	var cmds []*redis.Cmd
	for i := range 16 {
		cmds = append(cmds, incr.Run(ctx, pipe, []string{fmt.Sprintf("ap:hooks:%d", i)}, 1))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Errorf("Exec: %v", err)
	}
	for i, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if err := incr.Run(ctx, cc, []string{"ap:hooks:one"}, 1).Err(); err != nil {
		t.Fatal(err)
	}
	calls, _ := rec.take(t)
	if len(calls) == 0 || calls[len(calls)-1].Name != "ap_hooks_incr" {
		t.Errorf("calls observed through the client: %+v, want the Run last", calls)
	}
}

// The deferred face (AsyncAutoPipeline), whose Process returns before the
// reply: Run waits for it, with and without a context that can end, and
// with SCRIPT FLUSH running meanwhile every call counts exactly once.
func TestAsyncAutoPipeliner(t *testing.T) {
	clients := map[string]redis.UniversalClient{"redis": realRedis(t).client, "cluster": sharedCluster(t)}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var ap *redis.AutoPipeliner
			var err error
			var masters func(ctx context.Context, fn func(ctx context.Context, c *redis.Client) error) error
			switch c := c.(type) {
			case *redis.Client:
				ap, err = c.AsyncAutoPipeline()
				masters = func(ctx context.Context, fn func(ctx context.Context, c *redis.Client) error) error {
					return fn(ctx, c)
				}
			case *redis.ClusterClient:
				ap, err = c.AsyncAutoPipeline()
				masters = c.ForEachMaster
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ap.Close()
			incr, err := NewScript("ap_async_incr", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
			if err != nil {
				t.Fatal(err)
			}
			key := "{ap-async}:" + name
			stop := flushLoop(t, func(ctx context.Context) error {
				return masters(ctx, func(ctx context.Context, c *redis.Client) error { return c.ScriptFlush(ctx).Err() })
			})
			var wg sync.WaitGroup
			for range apWorkers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 20 {
						// A context that can end: Run waits with WaitContext.
						cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
						if err := incr.Run(cctx, ap, []string{key}, 1).Err(); err != nil {
							t.Errorf("Run: %v", err)
						}
						cancel()
						if err := incr.Run(ctx, ap, []string{key}, 1).Err(); err != nil {
							t.Errorf("Run: %v", err)
						}
					}
				}()
			}
			wg.Wait()
			stop()
			if n, err := c.Get(ctx, key).Int(); err != nil || n != apWorkers*40 {
				t.Errorf("counter = %d, %v; want %d", n, err, apWorkers*40)
			}
		})
	}
}

// A closed AutoPipeliner, of either face, fails every call with
// redis.ErrClosed whatever the context, and nothing runs.
func TestAutoPipelinerClosed(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	incr, err := NewScript("ap_closed_incr", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
	if err != nil {
		t.Fatal(err)
	}
	if err := incr.Load(ctx, b.client); err != nil { // EVALSHA would succeed
		t.Fatal(err)
	}
	c := redis.NewClient(b.client.Options())
	t.Cleanup(func() { _ = c.Close() })
	blocking, err := c.AutoPipeline()
	if err != nil {
		t.Fatal(err)
	}
	async, err := c.AsyncAutoPipeline()
	if err != nil {
		t.Fatal(err)
	}
	_ = blocking.Close()
	_ = async.Close()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	key := "ap:closed:" + t.Name()
	for name, ap := range map[string]*redis.AutoPipeliner{"blocking": blocking, "async": async} {
		for ctxName, ctx := range map[string]context.Context{"background": ctx, "cancellable": cctx} {
			if err := incr.Run(ctx, ap, []string{key}, 1).Err(); !errors.Is(err, redis.ErrClosed) {
				t.Errorf("%s, %s context: Run = %v, want redis.ErrClosed", name, ctxName, err)
			}
		}
	}
	if n, err := b.client.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Errorf("EXISTS %s = %d, %v; want 0: a call ran", key, n, err)
	}
}

// A server that stops answering (SIGSTOP, as a black-holed network would)
// with go-redis's default options: a Run through the blocking
// AutoPipeliner with a context that never ends (the path straight to
// ap.Process) does not hang, it fails with go-redis's read timeout, and
// the script runs at most once, even after the server resumes. (That the
// command is never sent again is TestRunIsSentOnceWhenTheReplyTimesOut's;
// here go-redis's new connections fail their handshake first.)
func TestAutoPipelinerPausedServer(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr}) // default timeouts and MaxRetries
	t.Cleanup(func() { _ = c.Close() })
	ap, err := c.AutoPipeline()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	incr, err := NewScript("ap_paused_incr", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
	if err != nil {
		t.Fatal(err)
	}
	if err := incr.Load(ctx, c); err != nil {
		t.Fatal(err)
	}
	key := "ap:paused"
	srv.Pause(t)
	err = incr.Run(ctx, ap, []string{key}, 1).Err()
	var netErr interface{ Timeout() bool }
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("Run on a paused server = %v, want go-redis's read timeout", err)
	}
	srv.Resume()
	// Every EVALSHA the client wrote waits in a socket that was readable
	// when the server resumed, so the server reads it in its first event
	// loop iteration, before a connection made now.
	check := srv.Client(t)
	calls, err := commandCalls(ctx, check, "evalsha")
	if err != nil {
		t.Fatal(err)
	}
	if calls > 1 {
		t.Errorf("the server ran EVALSHA %d times for one Run", calls)
	}
	if n, err := check.Get(ctx, key).Int(); err != nil && !errors.Is(err, redis.Nil) || n > 1 {
		t.Errorf("counter = %d, %v after one Run: want at most 1", n, err)
	}
}
