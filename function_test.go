package redislua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// counterLib is a library of two functions: incr counts its calls in its
// key, get reads it.
func counterLib(lib string) string {
	return "#!lua name=" + lib + "\n" +
		"local function incr(keys, args)\n" +
		"  return redis.call('INCRBY', keys[1], args[1] or 1)\n" +
		"end\n" +
		"redis.register_function('" + lib + "_incr', incr)\n" +
		"redis.register_function{function_name='" + lib + "_get', callback=function(keys, args)\n" +
		"  return redis.call('GET', keys[1])\n" +
		"end, flags={'no-writes'}}\n" +
		"redis.register_function('" + lib + "_fail', function(keys, args)\n" +
		"  error('boom')\n" +
		"end)\n"
}

func libRegistry(t *testing.T, files map[string]string) *Registry {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	r, err := NewRegistry(fsys, nil)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return r
}

// functionLoads counts the FUNCTION LOAD commands a client sends.
type functionLoads struct {
	mu sync.Mutex
	n  int
}

func (h *functionLoads) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *functionLoads) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if args := cmd.Args(); len(args) > 1 && cmd.Name() == "function" && strings.EqualFold(fmt.Sprint(args[1]), "load") {
			h.mu.Lock()
			h.n++
			h.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}
func (h *functionLoads) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *functionLoads) take() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.n
	h.n = 0
	return n
}

func TestRegistryReadsLibraries(t *testing.T) {
	r := libRegistry(t, map[string]string{"counter.lua": counterLib("counter"), "plain.lua": "return 1"})
	if got := len(r.Scripts()); got != 1 {
		t.Errorf("%d scripts, want 1 (the library is not a script)", got)
	}
	libs := r.Libraries()
	if len(libs) != 1 || libs[0].Name() != "counter" || libs[0].File() != "counter.lua" {
		t.Fatalf("Libraries() = %v", libs)
	}
	var names []string
	for _, f := range libs[0].Functions() {
		names = append(names, fmt.Sprintf("%s:%v", f.Name(), f.ReadOnly()))
	}
	if got, want := strings.Join(names, " "), "counter_incr:false counter_get:true counter_fail:false"; got != want {
		t.Errorf("functions %q, want %q", got, want)
	}
	if f, err := r.Function("counter_get"); err != nil || f.Library() != libs[0] || fmt.Sprint(f.Flags()) != "[no-writes]" {
		t.Errorf("Function(counter_get) = %v, %v", f, err)
	}
	if _, err := r.Function("nope"); !errors.Is(err, ErrUnknownScript) {
		t.Errorf("Function(nope) error = %v, want ErrUnknownScript", err)
	}
	if _, err := r.Library("nope"); !errors.Is(err, ErrUnknownScript) {
		t.Errorf("Library(nope) error = %v, want ErrUnknownScript", err)
	}
}

// TestRegistryRefusesBadLibraries checks that NewRegistry refuses each
// bad library naming file and line, and that real Redis 7 refuses it too
// (FUNCTION LOAD), while it loads the good ones.
func TestRegistryRefusesBadLibraries(t *testing.T) {
	tests := []struct {
		name, src, want string // want "" for a good library
	}{
		{"good-plain", "#!lua name=agree_a\nredis.register_function('agree_a1', function(keys, args) return keys[1] end)\n", ""},
		{"good-table", "#!lua name=agree_b\nredis.register_function{function_name='agree_b1', callback=function(keys, args) return 1 end, flags={'no-writes','allow-oom','allow-stale','no-cluster','allow-cross-slot-keys'}, description='d'}\n", ""},
		{"empty-name", "#!lua name=\nredis.register_function('agree_c1', function() return 1 end)\n", "lib.lua:1:"},
		{"invalid-name", "#!lua name=bad-name\nredis.register_function('agree_d1', function() return 1 end)\n", "lib.lua:1:"},
		{"flags-option", "#!lua name=agree_e flags=no-writes\nredis.register_function('agree_e1', function() return 1 end)\n", "lib.lua:1:"},
		{"nothing", "#!lua name=agree_f\nlocal x = 1\n", "lib.lua:1:"},
		{"duplicate", "#!lua name=agree_g\nredis.register_function('agree_g1', function() return 1 end)\nredis.register_function('agree_g1', function() return 1 end)\n", "lib.lua:3:"},
		{"syntax", "#!lua name=agree_h\nredis.register_function('agree_h1', function() return 1 end\n", "lib.lua:2:"},
		{"unknown-flag", "#!lua name=agree_i\nredis.register_function{function_name='agree_i1', callback=function() return 1 end, flags={'bogus'}}\n", "lib.lua:2:"},
		{"bad-function-name", "#!lua name=agree_j\nredis.register_function('a-b', function() return 1 end)\n", "lib.lua:2:"},
		{"KEYS-at-load", "#!lua name=agree_k\nlocal k = KEYS\nredis.register_function('agree_k1', function() return 1 end)\n", "lib.lua:2:"},
	}
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	ctx := context.Background()
	for _, tt := range tests {
		_, err := NewRegistry(fstest.MapFS{"lib.lua": {Data: []byte(tt.src)}}, nil)
		serverErr := c.FunctionLoad(ctx, tt.src).Err()
		if tt.want == "" {
			if err != nil || serverErr != nil {
				t.Errorf("%s: NewRegistry: %v; FUNCTION LOAD: %v; want both to accept", tt.name, err, serverErr)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: NewRegistry error = %v, want one naming %s", tt.name, err, tt.want)
		}
		if serverErr == nil {
			t.Errorf("%s: Redis loads the library; NewRegistry refuses it with %v", tt.name, err)
		}
	}
}

func TestRegistryRefusesFunctionInTwoLibraries(t *testing.T) {
	fsys := fstest.MapFS{
		"a.lua": {Data: []byte("#!lua name=a\nredis.register_function('same', function() return 1 end)\n")},
		"b.lua": {Data: []byte("#!lua name=b\nredis.register_function('same', function() return 1 end)\n")},
	}
	if _, err := NewRegistry(fsys, nil); !errors.Is(err, ErrDuplicateScript) || !strings.Contains(err.Error(), `"same"`) {
		t.Errorf("NewRegistry error = %v, want ErrDuplicateScript naming the function", err)
	}
}

func TestFunctionOnMiniredis(t *testing.T) {
	b := forMiniredis(t)
	r := libRegistry(t, map[string]string{"counter.lua": counterLib("mini")})
	ctx := context.Background()
	if err := r.LoadAll(ctx, b.client); !errors.Is(err, ErrFunctionsUnsupported) {
		t.Errorf("LoadAll error = %v, want ErrFunctionsUnsupported", err)
	}
	f, _ := r.Function("mini_incr")
	if err := f.Call(ctx, b.client, []string{"k"}).Err(); !errors.Is(err, ErrFunctionsUnsupported) {
		t.Errorf("Call error = %v, want ErrFunctionsUnsupported", err)
	}
}

func TestFunctionLoadAndCall(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	loads := &functionLoads{}
	b.client.AddHook(loads)
	r := libRegistry(t, map[string]string{"lua/counter.lua": counterLib("calls")})
	if err := r.LoadAll(ctx, b.client); err != nil {
		t.Fatalf("LoadAll: %v", err)
	}
	if got := loads.take(); got != 1 {
		t.Errorf("first LoadAll sent %d FUNCTION LOAD, want 1", got)
	}
	if err := r.LoadAll(ctx, b.client); err != nil {
		t.Fatalf("second LoadAll: %v", err)
	}
	if got := loads.take(); got != 0 {
		t.Errorf("second LoadAll sent %d FUNCTION LOAD, want 0", got)
	}
	incr, _ := r.Function("calls_incr")
	get, _ := r.Function("calls_get")
	if n, err := incr.Call(ctx, b.client, []string{"fn:counter"}, 5).Int64(); err != nil || n != 5 {
		t.Errorf("incr = %d, %v; want 5", n, err)
	}
	b.sent.Take()
	if v, err := get.Call(ctx, b.client, []string{"fn:counter"}).Text(); err != nil || v != "5" {
		t.Errorf("get = %q, %v; want 5", v, err)
	}
	if sent := b.sent.Take(); count(sent, "fcall_ro") != 1 {
		t.Errorf("get sent %v, want one FCALL_RO", sent)
	}
	fail, _ := r.Function("calls_fail")
	err := fail.Call(ctx, b.client, nil).Err()
	var se *ScriptError
	if !errors.As(err, &se) || se.File != "lua/counter.lua" || se.Line != 10 || !strings.Contains(err.Error(), "lua/counter.lua:10: boom") {
		t.Errorf("fail error = %v, want a *ScriptError at lua/counter.lua:10", err)
	}
}

func TestFunctionLoadConflict(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	old := libRegistry(t, map[string]string{"counter.lua": counterLib("conflict")})
	changed := libRegistry(t, map[string]string{"counter.lua": counterLib("conflict") + "-- v2\n"})
	if err := old.LoadAll(ctx, b.client); err != nil {
		t.Fatal(err)
	}
	err := changed.LoadAll(ctx, b.client)
	var ce *LibraryConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrLibraryConflict) || ce.Library != "conflict" || len(ce.Servers) != 1 || ce.Servers[0] != b.client.Options().Addr {
		t.Fatalf("LoadAll of a changed library: %v, want a *LibraryConflictError naming the server", err)
	}
	lib, _ := changed.Library("conflict")
	if err := lib.Load(ctx, b.client, &LoadOptions{Replace: true}); err != nil {
		t.Fatalf("Load with Replace: %v", err)
	}
	if err := changed.LoadAll(ctx, b.client); err != nil {
		t.Errorf("LoadAll after Replace: %v", err)
	}
	code, _, _ := lib.codeOn(ctx, b.client)
	if code != lib.Source() {
		t.Errorf("server holds %q, want the replaced code", code)
	}
}

// TestFunctionRecoversAfterFlush calls a function on a server that lost
// its libraries: every call succeeds, once.
func TestFunctionRecoversAfterFlush(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	r := libRegistry(t, map[string]string{"counter.lua": counterLib("flushed")})
	if err := b.client.FunctionFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	incr, _ := r.Function("flushed_incr")
	callConcurrently(t, func() error { return incr.Call(ctx, b.client, []string{"fn:flushed"}).Err() })
	if n, _ := b.client.Get(ctx, "fn:flushed").Int(); n != 16 {
		t.Errorf("counter = %d after 16 calls, want 16", n)
	}
}

// callConcurrently runs call from 16 goroutines and fails on any error.
func callConcurrently(t *testing.T, call func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- call()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("call: %v", err)
		}
	}
}

func TestFunctionOnCluster(t *testing.T) {
	cc := sharedCluster(t)
	ctx := context.Background()
	r := libRegistry(t, map[string]string{"counter.lua": counterLib("clustered")})
	if err := r.LoadAll(ctx, cc); err != nil {
		t.Fatalf("LoadAll: %v", err)
	}
	lib, _ := r.Library("clustered")
	var masters atomic.Int32
	err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		code, found, err := lib.codeOn(ctx, node)
		if err != nil || !found || code != lib.Source() {
			return fmt.Errorf("node %s: found %v, same code %v, %v", node.Options().Addr, found, code == lib.Source(), err)
		}
		masters.Add(1)
		return nil
	})
	if err != nil || masters.Load() != 3 {
		t.Fatalf("FUNCTION LIST WITHCODE per master: %d masters, %v", masters.Load(), err)
	}

	// The master of the key loses its libraries; 16 callers each run once.
	key := "{fnflush}counter"
	master, err := cc.MasterForKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := master.FunctionFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	incr, _ := r.Function("clustered_incr")
	callConcurrently(t, func() error { return incr.Call(ctx, cc, []string{key}).Err() })
	if n, _ := cc.Get(ctx, key).Int(); n != 16 {
		t.Errorf("counter = %d after 16 calls, want 16", n)
	}
	if err := incr.Call(ctx, cc, []string{"{a}x", "{b}y"}).Err(); !errors.Is(err, ErrCrossSlot) {
		t.Errorf("cross-slot call: %v, want ErrCrossSlot", err)
	}
}

// TestFunctionReadOnlyOnReplicas checks that a no-writes function runs on
// replicas through a ReadOnly cluster client (FCALL_RO).
func TestFunctionReadOnlyOnReplicas(t *testing.T) {
	src := "#!lua name=replicas\n" +
		"redis.register_function{function_name='replicas_role', callback=function(keys, args)\n" +
		"  return redis.call('EXISTS', keys[1])\n" +
		"end, flags={'no-writes'}}\n"
	r := libRegistry(t, map[string]string{"replicas.lua": src})
	shared := sharedCluster(t)
	ctx := context.Background()
	if err := r.LoadAll(ctx, shared); err != nil {
		t.Fatal(err)
	}
	replicas := map[string]bool{}
	var mu sync.Mutex
	if err := shared.ForEachSlave(ctx, func(_ context.Context, node *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		replicas[node.Options().Addr] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: clusterAddrs(t, shared), ReadOnly: true})
	defer cc.Close()
	onReplica := 0
	cc.OnNewNode(func(node *redis.Client) {
		addr := node.Options().Addr
		node.AddHook(&sentTo{fn: func(cmd redis.Cmder) {
			mu.Lock()
			defer mu.Unlock()
			if cmd.Name() == "fcall_ro" && replicas[addr] {
				onReplica++
			}
		}})
	})
	role, _ := r.Function("replicas_role")
	for i := range 20 {
		if err := role.Call(ctx, cc, []string{fmt.Sprintf("{ro}absent%d", i)}).Err(); err != nil {
			t.Fatalf("call: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if onReplica == 0 {
		t.Errorf("no FCALL_RO reached a replica (replicas %v)", replicas)
	}
}

// sentTo calls fn with each command a node client sends.
type sentTo struct{ fn func(redis.Cmder) }

func (h *sentTo) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *sentTo) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.fn(cmd)
		return next(ctx, cmd)
	}
}
func (h *sentTo) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestFunctionOwnMovedReplyNotFollowed checks that a function's own
// MOVED reply reaches the caller and the function does not run twice.
func TestFunctionOwnMovedReplyNotFollowed(t *testing.T) {
	cc := sharedCluster(t)
	ctx := context.Background()
	key := "{fnmoved}counter"
	other := ""
	master, err := cc.MasterForKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range clusterAddrs(t, cc) {
		if addr != master.Options().Addr {
			other = addr
			break
		}
	}
	reply := fmt.Sprintf("MOVED %d %s", Slot(key), other)
	src := "#!lua name=moved\n" +
		"redis.register_function('moved_once', function(keys, args)\n" +
		"  redis.call('INCR', keys[1])\n" +
		"  return redis.error_reply(args[1]) -- redislua:ignore server-error-code\n" +
		"end)\n"
	r := libRegistry(t, map[string]string{"moved.lua": src})
	if err := r.LoadAll(ctx, cc); err != nil {
		t.Fatal(err)
	}
	f, _ := r.Function("moved_once")
	err = f.Call(ctx, cc, []string{key}, reply).Err()
	if err == nil || err.Error() != reply {
		t.Errorf("error = %v, want the function's own %q", err, reply)
	}
	if n, _ := cc.Get(ctx, key).Int(); n != 1 {
		t.Errorf("the function ran %d times, want 1", n)
	}
}

// On a Ring, Load puts the library on every shard, since go-redis sends a
// call to the shard of its key; a call on each shard's key then runs
// without a reload.
func TestFunctionLoadOnRing(t *testing.T) {
	ring, shards := newRing(t)
	ctx := context.Background()
	reg := libRegistry(t, map[string]string{"ringlib.lua": counterLib("ringlib")})
	if err := reg.LoadAll(ctx, ring); err != nil {
		t.Fatal(err)
	}
	for i, shard := range shards {
		libs, err := shard.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: "ringlib"}).Result()
		if err != nil || len(libs) != 1 {
			t.Errorf("shard %d: FUNCTION LIST = %v, %v; want the library", i, libs, err)
		}
	}
}

// A function that keeps the server busy: other calls get ErrBusy, and
// KillScript stops it (SCRIPT KILL refuses a function; FUNCTION KILL
// stops it), its caller getting an error that names the library's file
// and line.
func TestBusyFunctionIsKilledWithKillScript(t *testing.T) {
	srv := redistest.Start(t, "--busy-reply-threshold", "100")
	runner := redis.NewClient(&redis.Options{Addr: srv.Addr, ReadTimeout: 30 * time.Second})
	t.Cleanup(func() { _ = runner.Close() })
	b := newBackend(t, "redis", srv.Addr, true)
	ctx := context.Background()
	reg := libRegistry(t, map[string]string{"spinlib.lua": "#!lua name=spinlib\n" +
		"redis.register_function{function_name='spinlib_spin', callback=function(keys, args)\n" +
		"  local n = 0\n" +
		"  while true do n = n + 1 end\n" +
		"  return n\n" +
		"end, flags={'no-writes'}}\n"})
	if err := reg.LoadAll(ctx, b.client); err != nil {
		t.Fatal(err)
	}
	spin, err := reg.Function("spinlib_spin")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- spin.Call(ctx, runner, []string{"spin"}).Err() }()
	waitBusy(t, b.client, b.sent)
	if err := KillScript(ctx, b.client); err != nil {
		t.Fatalf("KillScript = %v", err)
	}
	err = <-done
	var se *ScriptError
	if !errors.As(err, &se) || se.File != "spinlib.lua" || se.Line != 4 {
		t.Fatalf("killed function's error = %v, want spinlib.lua line 4", err)
	}
	if n, err := b.client.FunctionStats(ctx).Result(); err != nil || n.Running() {
		t.Fatalf("a function still runs after the kill: %+v, %v", n, err)
	}
}

// A function's refusals map to the engine's typed errors, as a script's
// do, and the function did not run: OOM for a function without no-writes
// (a no-writes one still runs), NOPERM for a key outside an ACL user's
// pattern.
func TestFunctionRefusalsAreTyped(t *testing.T) {
	srv := redistest.Start(t)
	b := newBackend(t, "redis", srv.Addr, true)
	ctx := context.Background()
	reg := libRegistry(t, map[string]string{"typed.lua": counterLib("typed")})
	if err := reg.LoadAll(ctx, b.client); err != nil {
		t.Fatal(err)
	}
	incr, err := reg.Function("typed_incr")
	if err != nil {
		t.Fatal(err)
	}
	get, err := reg.Function("typed_get")
	if err != nil {
		t.Fatal(err)
	}
	b.client.Set(ctx, "app:n", 5, 0)

	app := srv.CreateUser(t, "app", "s3cret", "~app:*", "+fcall", "+fcall_ro", "+function|list", "+function|load")
	if err := incr.Call(ctx, app, []string{"other:n"}, 1).Err(); !errors.Is(err, ErrNoPerm) {
		t.Errorf("a key outside the user's pattern = %v, want ErrNoPerm", err)
	}

	if err := b.client.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.client.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil { // below what is used
		t.Fatal(err)
	}
	t.Cleanup(func() { b.client.ConfigSet(context.Background(), "maxmemory", "0") })
	if err := incr.Call(ctx, b.client, []string{"app:n"}, 1).Err(); !errors.Is(err, ErrOOM) {
		t.Errorf("a writing function under OOM = %v, want ErrOOM", err)
	}
	if got, err := get.Call(ctx, b.client, []string{"app:n"}).Text(); err != nil || got != "5" {
		t.Errorf("a no-writes function under OOM = %q, %v; want 5: it did not run twice or write", got, err)
	}
}

// Redis compares function names without case ("ERR Function SAME already
// exists"), so NewRegistry refuses two libraries whose functions differ
// only in case, as real Redis refuses to load the second.
func TestRegistryRefusesFunctionInTwoLibrariesAnyCase(t *testing.T) {
	a := "#!lua name=casea\nredis.register_function('case_same', function() return 1 end)\n"
	b := "#!lua name=caseb\nredis.register_function('CASE_SAME', function() return 2 end)\n"
	_, err := NewRegistry(fstest.MapFS{"a.lua": {Data: []byte(a)}, "b.lua": {Data: []byte(b)}}, nil)
	if !errors.Is(err, ErrDuplicateScript) || !strings.Contains(err.Error(), `"CASE_SAME"`) {
		t.Errorf("NewRegistry error = %v, want ErrDuplicateScript naming the function", err)
	}
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	ctx := context.Background()
	if err := c.FunctionLoad(ctx, a).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.FunctionLoad(ctx, b).Err(); err == nil {
		t.Errorf("Redis loads both libraries; NewRegistry refuses them")
	}
}
