package redislua

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/hashslot"
	"github.com/redislua/redislua/internal/redistest"
)

// recorder is an Observer that keeps what it hears.
type recorder struct {
	mu     sync.Mutex
	calls  []Call  // copies, taken at EndCall
	errs   []error // EndCall's error, one per call
	events []Event
	open   int // StartCall without EndCall
}

type ctxMark struct{}

func (r *recorder) StartCall(ctx context.Context, call *Call) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.open++
	return context.WithValue(ctx, ctxMark{}, call)
}

func (r *recorder) EndCall(ctx context.Context, call *Call, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Value(ctxMark{}) != call {
		panic("EndCall did not get StartCall's context")
	}
	r.open--
	r.calls = append(r.calls, *call)
	r.errs = append(r.errs, err)
}

func (r *recorder) Notify(_ context.Context, ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// take returns the finished calls and their errors, and forgets them.
func (r *recorder) take(t *testing.T) ([]Call, []error) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open != 0 {
		t.Fatalf("%d calls started and not ended", r.open)
	}
	calls, errs := r.calls, r.errs
	r.calls, r.errs = nil, nil
	return calls, errs
}

// contextSeen records the context values each command is sent with.
type contextSeen struct {
	mu    sync.Mutex
	marks []any
}

func (h *contextSeen) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *contextSeen) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.marks = append(h.marks, ctx.Value(ctxMark{}))
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (h *contextSeen) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func TestObserveOneCallAcrossTheNoScriptFallback(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		rec := &recorder{}
		seen := &contextSeen{}
		b.client.AddHook(seen)
		if err := Observe(b.client, rec); err != nil {
			t.Fatal(err)
		}
		s := MustNewScript("counters/incr.lua", incrSrc)
		if err := b.client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		seen.marks = nil
		before := time.Now()
		if n, err := s.Run(ctx, b.client, []string{"obs:n"}, 5).Int64(); err != nil || n != 5 {
			t.Fatalf("Run = %d, %v", n, err)
		}
		calls, errs := rec.take(t)
		if len(calls) != 1 {
			t.Fatalf("%d calls observed, want 1 for EVALSHA + EVAL", len(calls))
		}
		c := calls[0]
		if c.Name != "counters/incr.lua" || c.Command != "EVALSHA" || c.Keys != 1 || errs[0] != nil {
			t.Fatalf("call = %+v, err %v", c, errs[0])
		}
		if c.Addr != b.client.Options().Addr {
			t.Fatalf("Addr = %q, want %q", c.Addr, b.client.Options().Addr)
		}
		if c.Start.Before(before) || c.FallbackAt.Before(c.Start) {
			t.Fatalf("Start %v, FallbackAt %v: want Start <= FallbackAt, FallbackAt set", c.Start, c.FallbackAt)
		}
		// Both commands went with the observer's context (a tracer's
		// command spans nest under the call's).
		if len(seen.marks) != 2 || seen.marks[0] == nil || seen.marks[1] == nil {
			t.Fatalf("commands sent with contexts %v, want the call's for both", seen.marks)
		}

		if err := s.Run(ctx, b.client, []string{"obs:n"}, 1).Err(); err != nil {
			t.Fatal(err)
		}
		calls, _ = rec.take(t)
		if len(calls) != 1 || !calls[0].FallbackAt.IsZero() {
			t.Fatalf("cached call observed as %+v, want one without fallback", calls)
		}

		ro := MustNewScript("get.lua", "-- @readonly\nreturn redis.call('GET', KEYS[1])")
		if err := ro.Run(ctx, b.client, []string{"obs:missing"}).Err(); err != redis.Nil {
			t.Fatalf("Run = %v, want redis.Nil", err)
		}
		calls, errs = rec.take(t)
		if len(calls) != 1 || calls[0].Command != "EVALSHA_RO" || errs[0] != redis.Nil {
			t.Fatalf("read-only call observed as %+v, %v", calls, errs)
		}
	})
}

func TestObserveSeesErrorsAndCallsRefusedBeforeSending(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		rec := &recorder{}
		if err := Observe(b.client, rec); err != nil {
			t.Fatal(err)
		}
		boom := MustNewScript("boom.lua", "local x = 1\nerror('boom')")
		boomErr := boom.Run(ctx, b.client, []string{"obs:boom"}).Err()
		var se *ScriptError
		if !errors.As(boomErr, &se) {
			t.Fatalf("Run = %v, want a *ScriptError", boomErr)
		}
		reg, err := NewRegistry(nil, &RegistryOptions{ClusterChecks: true})
		if err != nil {
			t.Fatal(err)
		}
		pair, err := reg.Add("pair.lua", "return 1")
		if err != nil {
			t.Fatal(err)
		}
		err = pair.Run(ctx, b.client, []string{"a", "b"}).Err()
		if !errors.Is(err, ErrCrossSlot) {
			t.Fatalf("Run = %v, want ErrCrossSlot", err)
		}
		calls, errs := rec.take(t)
		if len(calls) != 2 {
			t.Fatalf("%d calls observed, want 2", len(calls))
		}
		if errs[0] != boomErr {
			t.Fatalf("first call's error %v, want the *ScriptError", errs[0])
		}
		if calls[1].Name != "pair.lua" || !errors.Is(errs[1], ErrCrossSlot) {
			t.Fatalf("refused call observed as %+v, %v", calls[1], errs[1])
		}
	})
}

func TestObservePipelineIsOneCall(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		for _, optimized := range []bool{false, true} {
			t.Run(fmt.Sprint("optimized=", optimized), func(t *testing.T) {
				c := redis.NewClient(b.client.Options())
				defer c.Close()
				if optimized {
					if err := OptimizePipelines(c); err != nil {
						t.Fatal(err)
					}
				}
				rec := &recorder{}
				if err := Observe(c, rec); err != nil {
					t.Fatal(err)
				}
				a := MustNewScript("a.lua", incrSrc)
				z := MustNewScript("z.lua", "return 0")
				_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
					a.Run(ctx, p, []string{"obs:p"}, 1)
					p.Get(ctx, "obs:p")
					z.Run(ctx, p, nil)
					a.Run(ctx, p, []string{"obs:p"}, 1)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
					a.Run(ctx, p, []string{"obs:p"}, 1)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				// A pipeline without scripts is not a call.
				if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error { p.Get(ctx, "obs:p"); return nil }); err != nil {
					t.Fatal(err)
				}
				calls, _ := rec.take(t)
				if len(calls) != 2 {
					t.Fatalf("%d calls observed, want 2: %+v", len(calls), calls)
				}
				p, tx := calls[0], calls[1]
				if p.Command != "PIPELINE" || p.Keys != 4 || strings.Join(p.Scripts, ",") != "a.lua,z.lua,a.lua" || p.Addr != c.Options().Addr {
					t.Fatalf("pipeline observed as %+v", p)
				}
				if tx.Command != "MULTI" || tx.Keys != 1 || strings.Join(tx.Scripts, ",") != "a.lua" {
					t.Fatalf("transaction observed as %+v", tx)
				}
			})
		}
	})
}

func TestObserveFunctionCallAcrossAReload(t *testing.T) {
	b := realRedis(t) // miniredis has no Functions
	ctx := context.Background()
	reg := libRegistry(t, map[string]string{"obslib.lua": "#!lua name=obslib\nredis.register_function('bump', function(keys) return redis.call('INCR', keys[1]) end)"})
	bump, err := reg.Function("bump")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	if err := Observe(b.client, rec); err != nil {
		t.Fatal(err)
	}
	if err := b.client.FunctionFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := bump.Call(ctx, b.client, []string{"obs:f"}).Err(); err != nil {
		t.Fatal(err)
	}
	calls, errs := rec.take(t)
	if len(calls) != 1 || calls[0].Name != "obslib.bump" || calls[0].Command != "FCALL" || calls[0].FallbackAt.IsZero() || errs[0] != nil {
		t.Fatalf("observed %+v, %v; want one FCALL obslib.bump with a fallback", calls, errs)
	}
}

// On a cluster, Addr is the node that ran the script: the master of the
// key's slot.
func TestObserveClusterNamesTheNode(t *testing.T) {
	cl := redistest.SharedCluster(t)
	cc := cl.Client(t)
	ctx := context.Background()
	rec := &recorder{}
	if err := Observe(cc, rec); err != nil {
		t.Fatal(err)
	}
	s := MustNewScript("incr.lua", incrSrc)
	for _, key := range []string{"obs:{a}", "obs:{b}", "obs:{c}"} {
		if err := s.Run(ctx, cc, []string{key}, 1).Err(); err != nil {
			t.Fatal(err)
		}
		calls, _ := rec.take(t)
		master, err := cc.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) != 1 || calls[0].Addr != master.Options().Addr {
			t.Fatalf("key %q (slot %d): observed %+v, want Addr %s", key, hashslot.Of(key), calls, master.Options().Addr)
		}
	}
}

func TestObserveNotifyAndStop(t *testing.T) {
	b := forMiniredis(t)
	ctx := context.Background()
	rec := &recorder{}
	Notify(ctx, b.client, Event{Name: "test.before"}) // not observed yet: dropped
	if err := Observe(b.client, rec); err != nil {
		t.Fatal(err)
	}
	Notify(ctx, b.client, Event{Name: "test.event", Duration: time.Second, Detail: "x"})
	other := redis.NewClient(b.client.Options())
	defer other.Close()
	Notify(ctx, other, Event{Name: "test.other"}) // another client: not heard
	s := MustNewScript("one.lua", "return 1")
	if err := s.Run(ctx, other, nil).Err(); err != nil {
		t.Fatal(err)
	}
	if calls, _ := rec.take(t); len(calls) != 0 {
		t.Fatalf("a call on another client was observed: %+v", calls)
	}
	if len(rec.events) != 1 || rec.events[0] != (Event{Name: "test.event", Duration: time.Second, Detail: "x"}) {
		t.Fatalf("events = %+v", rec.events)
	}

	// A second Observe replaces the observer; nil stops observing.
	rec2 := &recorder{}
	if err := Observe(b.client, rec2); err != nil {
		t.Fatal(err)
	}
	_ = s.Run(ctx, b.client, nil)
	if err := Observe(b.client, nil); err != nil {
		t.Fatal(err)
	}
	_ = s.Run(ctx, b.client, nil)
	if n1, n2 := len(rec.calls), len(rec2.calls); n1 != 0 || n2 != 1 {
		t.Fatalf("calls seen by the first observer %d, by the second %d; want 0 and 1", n1, n2)
	}
}

func TestObserveRefusesWhatItCannotObserve(t *testing.T) {
	var nilClient *redis.Client
	if err := Observe(nilClient, &recorder{}); !errors.Is(err, ErrNilClient) {
		t.Fatalf("Observe(nil *redis.Client) = %v, want ErrNilClient", err)
	}
	if err := Observe(nil, &recorder{}); !errors.Is(err, ErrNilClient) {
		t.Fatalf("Observe(nil) = %v, want ErrNilClient", err)
	}
	b := forMiniredis(t)
	var ownClient struct{ redis.UniversalClient }
	ownClient.UniversalClient = b.client
	if err := Observe(ownClient, &recorder{}); err == nil {
		t.Fatal("Observe of a wrapping type succeeded; want an error")
	}
}

// RunAndWait sends the script and WAIT in a pipeline: one call, not a
// call and a pipeline.
func TestObserveRunAndWaitIsOneCall(t *testing.T) {
	_, _, b := replicated(t)
	ctx := context.Background()
	rec := &recorder{}
	if err := Observe(b.client, rec); err != nil {
		t.Fatal(err)
	}
	if err := b.client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := incrScript.RunAndWait(ctx, b.client, Replicas{N: 1, Timeout: time.Second}, []string{"obs:w"}); err != nil {
		t.Fatal(err)
	}
	_, err := incrScript.RunAndWait(ctx, b.client, Replicas{N: 2, Timeout: 10 * time.Millisecond}, []string{"obs:w"})
	if !errors.Is(err, ErrTooFewReplicas) {
		t.Fatalf("RunAndWait for 2 of 1 replicas = %v, want ErrTooFewReplicas", err)
	}
	calls, errs := rec.take(t)
	if len(calls) != 2 {
		t.Fatalf("observed %+v, want 2 calls", calls)
	}
	c := calls[0]
	if c.Name != "wait-incr" || c.Command != "EVALSHA" || c.Addr != b.client.Options().Addr || c.FallbackAt.IsZero() || errs[0] != nil {
		t.Fatalf("first call observed as %+v, %v", c, errs[0])
	}
	if !errors.Is(errs[1], ErrTooFewReplicas) {
		t.Fatalf("second call's error %v, want ErrTooFewReplicas", errs[1])
	}
}

// nilContext is an Observer whose StartCall returns a nil context.
type nilContext struct{ recorder }

func (n *nilContext) StartCall(ctx context.Context, call *Call) context.Context {
	n.recorder.StartCall(ctx, call)
	return nil
}

func (n *nilContext) EndCall(ctx context.Context, call *Call, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.open--
	n.calls = append(n.calls, *call)
	n.errs = append(n.errs, err)
}

// An observer's mistakes must not break the call: a nil context from
// StartCall is replaced by the caller's.
func TestObserveToleratesANilContext(t *testing.T) {
	b := forMiniredis(t)
	obs := &nilContext{}
	if err := Observe(b.client, obs); err != nil {
		t.Fatal(err)
	}
	if n, err := MustNewScript("one.lua", "return 1").Run(context.Background(), b.client, nil).Int64(); err != nil || n != 1 {
		t.Fatalf("Run = %d, %v", n, err)
	}
	if calls, _ := obs.take(t); len(calls) != 1 {
		t.Fatalf("observed %d calls, want 1", len(calls))
	}
}

func TestObserveRingAndClusterTransaction(t *testing.T) {
	ctx := context.Background()
	s := MustNewScript("incr.lua", incrSrc)

	b := forMiniredis(t)
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"one": b.client.Options().Addr}})
	defer ring.Close()
	rec := &recorder{}
	if err := Observe(ring, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(ctx, ring, []string{"obs:ring"}, 1).Err(); err != nil {
		t.Fatal(err)
	}
	if calls, _ := rec.take(t); len(calls) != 1 || calls[0].Name != "incr.lua" || calls[0].Addr != "" {
		t.Fatalf("Ring call observed as %+v, want one without an address", calls)
	}

	cc := sharedCluster(t)
	if err := Observe(cc, rec); err != nil {
		t.Fatal(err)
	}
	_, err := cc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		s.Run(ctx, p, []string{"obs:{tx}a"}, 1)
		s.Run(ctx, p, []string{"obs:{tx}b"}, 1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	calls, _ := rec.take(t)
	if len(calls) != 1 || calls[0].Command != "MULTI" || calls[0].Keys != 2 || strings.Join(calls[0].Scripts, ",") != "incr.lua,incr.lua" {
		t.Fatalf("cluster transaction observed as %+v", calls)
	}
}

// A collected client's entry goes: Observe keeps no client alive.
func TestObserveKeepsNoClientAlive(t *testing.T) {
	b := forMiniredis(t)
	var key uintptr
	var obs any
	func() {
		c := redis.NewClient(b.client.Options())
		if err := Observe(c, &recorder{}); err != nil {
			t.Fatal(err)
		}
		key, _ = clientKey(c)
		obs, _ = observers.Load(key)
		_ = c.Close()
	}()
	present := func() bool {
		v, ok := observers.Load(key)
		return ok && v == obs
	}
	if !present() {
		t.Fatal("no entry for the observed client")
	}
	for i := 0; i < 100 && present(); i++ {
		runtime.GC() // the cleanup runs after a collection, on its own goroutine
		runtime.Gosched()
	}
	if present() {
		t.Fatal("the entry of a collected client is still there")
	}
}

// A new client at the address of a collected one, whose entry's cleanup
// has not run yet, gets an observation of its own.
func TestObserveReplacesADeadClientsEntry(t *testing.T) {
	b := forMiniredis(t)
	c := redis.NewClient(b.client.Options())
	defer c.Close()
	key, _ := clientKey(c)
	stale := &observation{client: func() any { return nil }}
	var staleObs Observer = &recorder{}
	stale.o.Store(&staleObs)
	observers.Store(key, stale)
	if observerOf(c) != nil {
		t.Fatal("a dead client's observer was taken for c's")
	}
	rec := &recorder{}
	if err := Observe(c, rec); err != nil {
		t.Fatal(err)
	}
	if v, _ := observers.Load(key); v == stale || observerOf(c) != Observer(rec) {
		t.Fatal("Observe kept the dead client's entry")
	}
	if err := MustNewScript("one.lua", "return 1").Run(context.Background(), c, nil).Err(); err != nil {
		t.Fatal(err)
	}
	if calls, _ := rec.take(t); len(calls) != 1 {
		t.Fatalf("observed %d calls, want 1", len(calls))
	}
}

// A typed nil Observer (a nil *T in the interface) is no observer: the
// calls go on unobserved instead of panicking in StartCall.
func TestObserveTypedNilObserverStops(t *testing.T) {
	b := forMiniredis(t)
	rec := &recorder{}
	if err := Observe(b.client, rec); err != nil {
		t.Fatal(err)
	}
	var none *recorder
	if err := Observe(b.client, none); err != nil {
		t.Fatalf("Observe(typed nil) = %v", err)
	}
	if n, err := MustNewScript("one.lua", "return 1").Run(context.Background(), b.client, nil).Int64(); err != nil || n != 1 {
		t.Fatalf("Run = %d, %v", n, err)
	}
	if calls, _ := rec.take(t); len(calls) != 0 {
		t.Fatalf("the replaced observer heard %d calls", len(calls))
	}
}

// A call that a migrating slot's node redirects with ASK runs on the
// importing node, which go-redis reaches with a pipeline of ASKING and the
// command: the call names that node, not the one that answered ASK.
func TestObserveClusterASKNamesTheNodeThatRan(t *testing.T) {
	cl := redistest.StartCluster(t, nil)
	cc := cl.Client(t)
	ctx := context.Background()
	rec := &recorder{}
	if err := Observe(cc, rec); err != nil {
		t.Fatal(err)
	}
	s := MustNewScript("incr", incrSrc)
	from, to := cl.Masters[0].Client(t), cl.Masters[1].Client(t)
	fromID, toID := from.ClusterMyID(ctx).Val(), to.ClusterMyID(ctx).Val()
	keys := firstMasterKeys(2)
	if err := s.Run(ctx, cc, keys[:1], 1).Err(); err != nil {
		t.Fatal(err)
	}
	key := keys[1] // holds no key: the migrating node answers ASK
	for _, set := range []struct {
		c    *redis.Client
		args []any
	}{{to, []any{"importing", fromID}}, {from, []any{"migrating", toID}}} {
		if err := set.c.Do(ctx, append([]any{"cluster", "setslot", Slot(key)}, set.args...)...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	rec.take(t)
	before := errorCount(t, from, "ASK")
	if n, err := s.Run(ctx, cc, []string{key}, 1).Int64(); err != nil || n != 1 {
		t.Fatalf("Run = %d, %v", n, err)
	}
	if errorCount(t, from, "ASK") == before {
		t.Fatal("the migrating node answered no ASK")
	}
	calls, _ := rec.take(t)
	if len(calls) != 1 || calls[0].Addr != to.Options().Addr {
		t.Fatalf("observed %+v, want one call on %s, the importing node", calls, to.Options().Addr)
	}
}

// A pipeline's call ends with the error its Exec returns, mapped as
// OptimizePipelines maps it, whichever of Observe and OptimizePipelines
// hooked the client first.
func TestObservePipelineErrorWhateverTheHookOrder(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	boom := MustNewScript("boom.lua", "local x = 1\nerror('boom')")
	for _, observeFirst := range []bool{false, true} {
		t.Run(fmt.Sprint("observeFirst=", observeFirst), func(t *testing.T) {
			c := redis.NewClient(b.client.Options())
			defer c.Close()
			rec := &recorder{}
			hook := []func() error{
				func() error { return OptimizePipelines(c) },
				func() error { return Observe(c, rec) },
			}
			if observeFirst {
				hook[0], hook[1] = hook[1], hook[0]
			}
			for _, h := range hook {
				if err := h(); err != nil {
					t.Fatal(err)
				}
			}
			_, execErr := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "obs:e", 1, 0)
				boom.Run(ctx, p, nil)
				return nil
			})
			var se *ScriptError
			if !errors.As(execErr, &se) {
				t.Fatalf("Exec = %v, want a *ScriptError", execErr)
			}
			_, errs := rec.take(t)
			if len(errs) != 1 || !errors.As(errs[0], &se) {
				t.Fatalf("observed errors %v, want Exec's *ScriptError", errs)
			}
		})
	}
}
