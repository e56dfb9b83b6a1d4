package redislua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// pauseOn pauses srv just before the client sends the first command that
// match says yes to, once.
type pauseOn struct {
	match func(redis.Cmder) bool
	pause func()
	once  sync.Once
}

func (h *pauseOn) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *pauseOn) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.match(cmd) {
			h.once.Do(h.pause)
		}
		return next(ctx, cmd)
	}
}
func (h *pauseOn) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func isFunctionSub(cmd redis.Cmder, sub string) bool {
	args := cmd.Args()
	return cmd.Name() == "function" && len(args) > 1 && strings.EqualFold(fmt.Sprint(args[1]), sub)
}

// A Load on a server that stops answering returns the context's error
// once the deadline passes.
func TestFunctionLoadPausedServerReportsDeadline(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = c.Close() })
	r := libRegistry(t, map[string]string{"p.lua": counterLib("paused")})
	lib, _ := r.Library("paused")
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Pause(t)
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	err := lib.Load(dctx, c, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Load on a paused server = %v, want context.DeadlineExceeded", err)
	}
}

// A Call whose reload meets a server that stops answering reports the
// context's error (with a deadline; go-redis's read timeout without), and
// the function never runs, neither before nor after the server resumes.
func TestFunctionReloadPausedServer(t *testing.T) {
	for _, withDeadline := range []bool{true, false} {
		t.Run(fmt.Sprintf("deadline=%v", withDeadline), func(t *testing.T) {
			srv := redistest.Start(t)
			admin := redis.NewClient(&redis.Options{Addr: srv.Addr})
			t.Cleanup(func() { _ = admin.Close() })
			c := redis.NewClient(&redis.Options{Addr: srv.Addr})
			t.Cleanup(func() { _ = c.Close() })
			r := libRegistry(t, map[string]string{"p.lua": counterLib("reloadp")})
			incr, _ := r.Function("reloadp_incr")
			fcalls := 0
			c.AddHook(&sentTo{fn: func(cmd redis.Cmder) {
				if cmd.Name() == "fcall" {
					fcalls++
				}
			}})
			c.AddHook(&pauseOn{match: func(cmd redis.Cmder) bool { return isFunctionSub(cmd, "list") }, pause: func() { srv.Pause(t) }})
			ctx := context.Background()
			var cancel context.CancelFunc = func() {}
			if withDeadline {
				ctx, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
			}
			err := incr.Call(ctx, c, []string{"k"}, 1).Err()
			cancel()
			if err == nil {
				t.Fatalf("Call on a paused server succeeded")
			}
			if withDeadline && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Call = %v, want context.DeadlineExceeded", err)
			}
			srv.Resume()
			if n, err := admin.Exists(context.Background(), "k").Result(); err != nil || n != 0 {
				t.Errorf("key exists %d, %v: the function ran", n, err)
			}
			if fcalls != 1 {
				t.Errorf("%d FCALL sent, want 1", fcalls)
			}
		})
	}
}

// 16 concurrent Loads of one library on a cluster that lacks it: no
// error, and every master holds exactly the library's code.
func TestFunctionConcurrentLoadOnCluster(t *testing.T) {
	cc := sharedCluster(t)
	ctx := context.Background()
	r := libRegistry(t, map[string]string{"c.lua": counterLib("concload")})
	lib, _ := r.Library("concload")
	_ = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		return n.FunctionDelete(ctx, "concload").Err()
	})
	callConcurrently(t, func() error { return lib.Load(ctx, cc, nil) })
	err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		libs, err := n.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: "concload*", WithCode: true}).Result()
		if err != nil || len(libs) != 1 || libs[0].Code != lib.Source() {
			return fmt.Errorf("%s: %d libraries, %v", n.Options().Addr, len(libs), err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// A server whose version of the library lacks the function: Call reports
// the conflict, sends FCALL once and changes nothing.
func TestFunctionMissingFromOtherVersionIsConflict(t *testing.T) {
	other := strings.ReplaceAll(counterLib("misspelt"), "misspelt_incr", "misspelt_incrr")
	r := libRegistry(t, map[string]string{"m.lua": counterLib("misspelt")})
	incr, _ := r.Function("misspelt_incr")
	ctx := context.Background()
	t.Run("standalone", func(t *testing.T) {
		b := realRedis(t)
		if err := b.client.FunctionLoad(ctx, other).Err(); err != nil {
			t.Fatal(err)
		}
		b.sent.Take()
		err := incr.Call(ctx, b.client, []string{"k"}).Err()
		if !errors.Is(err, ErrLibraryConflict) {
			t.Errorf("Call = %v, want ErrLibraryConflict", err)
		}
		if sent := b.sent.Take(); count(sent, "fcall") != 1 {
			t.Errorf("sent %v, want one FCALL", sent)
		}
	})
	t.Run("cluster", func(t *testing.T) {
		cc := sharedCluster(t)
		_ = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return n.FunctionLoadReplace(ctx, other).Err()
		})
		for _, key := range []string{"{mis}x", "mis"} {
			if err := incr.Call(ctx, cc, []string{key}).Err(); !errors.Is(err, ErrLibraryConflict) {
				t.Errorf("Call(%s) = %v, want ErrLibraryConflict", key, err)
			}
		}
		if err := incr.Call(ctx, cc, nil).Err(); !errors.Is(err, ErrLibraryConflict) {
			t.Errorf("Call without keys = %v, want ErrLibraryConflict", err)
		}
		_ = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return n.FunctionDelete(ctx, "misspelt").Err()
		})
	})
}

// A library's code is compared byte for byte: a trailing newline or CRLF
// line ends are other code, and what is loaded is the file.
func TestFunctionLibraryBytes(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	crlf := strings.ReplaceAll(counterLib("bytes"), "\n", "\r\n")
	r := libRegistry(t, map[string]string{"b.lua": crlf})
	lib, _ := r.Library("bytes")
	if lib.Source() != crlf {
		t.Fatalf("Source() differs from the file")
	}
	if err := lib.Load(ctx, b.client, nil); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := lib.codeOn(ctx, b.client); code != crlf {
		t.Errorf("server code differs from the CRLF file")
	}
	if err := lib.Load(ctx, b.client, nil); err != nil {
		t.Errorf("second Load: %v", err)
	}
	trimmed := libRegistry(t, map[string]string{"b.lua": strings.TrimSuffix(crlf, "\r\n")})
	if err := trimmed.LoadAll(ctx, b.client); !errors.Is(err, ErrLibraryConflict) {
		t.Errorf("LoadAll without the trailing newline = %v, want ErrLibraryConflict", err)
	}
}

// Nil and typed-nil clients are refused before anything is sent; a
// transaction queues the call.
func TestFunctionCallClients(t *testing.T) {
	r := libRegistry(t, map[string]string{"n.lua": counterLib("clients")})
	incr, _ := r.Function("clients_incr")
	lib, _ := r.Library("clients")
	ctx := context.Background()
	for _, c := range []redis.Scripter{nil, (*redis.Client)(nil), (*redis.ClusterClient)(nil), (*redis.Ring)(nil)} {
		if err := incr.Call(ctx, c, []string{"k"}).Err(); !errors.Is(err, ErrNilClient) {
			t.Errorf("Call(%T) = %v, want ErrNilClient", c, err)
		}
		if err := lib.Load(ctx, c, nil); !errors.Is(err, ErrNilClient) {
			t.Errorf("Load(%T) = %v, want ErrNilClient", c, err)
		}
	}
	b := realRedis(t)
	if err := lib.Load(ctx, b.client.TxPipeline(), nil); !errors.Is(err, ErrPipeline) {
		t.Errorf("Load(TxPipeline) = %v, want ErrPipeline", err)
	}
	if err := lib.Load(ctx, b.client, nil); err != nil {
		t.Fatal(err)
	}
	// FCALL goes through Process only: a client without it, and a lone
	// struct (which go-redis flattens in its own methods), are refused
	// with an error, and nothing runs.
	type fields struct{ A string }
	for _, tc := range []struct {
		c    redis.Scripter
		args []any
	}{{scripterOnly{b.client}, []any{1}}, {b.client, []any{fields{"x"}}}, {b.client, []any{&fields{"x"}}}} {
		if err := incr.Call(ctx, tc.c, []string{"refused"}, tc.args...).Err(); err == nil || !strings.Contains(err.Error(), "clients_incr") {
			t.Errorf("Call(%T, %v) = %v, want an error naming the function", tc.c, tc.args, err)
		}
	}
	if n, err := b.client.Exists(ctx, "refused").Result(); err != nil || n != 0 {
		t.Errorf("a refused call ran: EXISTS refused = %d, %v", n, err)
	}
	var second *redis.Cmd
	cmds, err := b.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr.Call(ctx, p, []string{"tx"}, 2)
		second = incr.Call(ctx, p, []string{"tx"}, 3)
		return nil
	})
	if err != nil || len(cmds) != 2 {
		t.Fatalf("TxPipelined: %v, %v", cmds, err)
	}
	if n, _ := second.Int64(); n != 5 {
		t.Errorf("second queued call = %d, want 5", n)
	}
}

// A library with @include sends the expanded code, and an error in the
// included file names that file.
func TestFunctionLibraryWithInclude(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	r := libRegistry(t, map[string]string{
		"lib/fail.lua": "local function fail()\n  error('inc boom')\nend\n",
		"inc.lua":      "#!lua name=inclib\n--- @include \"lib/fail.lua\"\nredis.register_function('inclib_fail', function(keys, args) fail() end)\n",
		"inc2.lua":     "return 1\n", // a script beside it
	})
	lib, err := r.Library("inclib")
	if err != nil {
		t.Fatal(err)
	}
	if err := lib.Load(ctx, b.client, nil); err != nil {
		t.Fatal(err)
	}
	if err := lib.Load(ctx, b.client, nil); err != nil {
		t.Errorf("second Load: %v", err)
	}
	f, _ := r.Function("inclib_fail")
	var se *ScriptError
	if err := f.Call(ctx, b.client, nil).Err(); !errors.As(err, &se) || se.File != "lib/fail.lua" || se.Line != 2 {
		t.Errorf("Call = %v, want a *ScriptError at lib/fail.lua:2", err)
	}
}

// A library's name and its functions' names may equal script names: each
// is found by its own method.
func TestFunctionNamesBesideScripts(t *testing.T) {
	r := libRegistry(t, map[string]string{
		"same.lua":  "return 'script'\n",
		"other.lua": "#!lua name=same\nredis.register_function('same', function() return 'function' end)\n",
	})
	b := realRedis(t)
	ctx := context.Background()
	if err := r.LoadAll(ctx, b.client); err != nil {
		t.Fatal(err)
	}
	s, err := r.Script("same")
	if err != nil {
		t.Fatal(err)
	}
	f, err := r.Function("same")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Run(ctx, b.client, nil).Text(); err != nil || v != "script" {
		t.Errorf("script = %q, %v", v, err)
	}
	if v, err := f.Call(ctx, b.client, nil).Text(); err != nil || v != "function" {
		t.Errorf("function = %q, %v", v, err)
	}
}

// FUNCTION DELETE on the master of a key between calls: the next call,
// with the key hashed whole or by its {tag}, loads the library on that
// master and runs once.
func TestFunctionDeletedBetweenCallsOnCluster(t *testing.T) {
	cc := sharedCluster(t)
	ctx := context.Background()
	r := libRegistry(t, map[string]string{"d.lua": counterLib("deleted")})
	if err := r.LoadAll(ctx, cc); err != nil {
		t.Fatal(err)
	}
	incr, _ := r.Function("deleted_incr")
	for _, key := range []string{"deltag", "{deltag}k", "{x}deltag"} {
		master, err := cc.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := master.FunctionDelete(ctx, "deleted").Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := incr.Call(ctx, cc, []string{key}).Int(); err != nil || n != 1 {
			t.Errorf("Call(%s) = %d, %v; want 1", key, n, err)
		}
	}
}

// FCALL_RO of a function our file marks no-writes, but that the server's
// version of the library registers without it: the server refuses, the
// function does not run, and Call does not replace the server's code.
func TestFunctionReadOnlyButServerWrites(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	server := "#!lua name=rows\nredis.register_function('rows_get', function(keys, args) return redis.call('INCR', keys[1]) end)\n"
	if err := b.client.FunctionLoad(ctx, server).Err(); err != nil {
		t.Fatal(err)
	}
	r := libRegistry(t, map[string]string{"r.lua": "#!lua name=rows\nredis.register_function{function_name='rows_get', callback=function(keys, args) return redis.call('GET', keys[1]) end, flags={'no-writes'}}\n"})
	f, _ := r.Function("rows_get")
	if err := f.Call(ctx, b.client, []string{"rows"}).Err(); err == nil {
		t.Errorf("FCALL_RO of a writing function succeeded")
	}
	if n, _ := b.client.Exists(ctx, "rows").Result(); n != 0 {
		t.Errorf("the function ran")
	}
	if libs, _ := b.client.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: "rows", WithCode: true}).Result(); len(libs) != 1 || libs[0].Code != server {
		t.Errorf("the server's library was replaced")
	}
}

// A library larger than MaxScriptSize is refused at start-up.
func TestFunctionHugeLibrary(t *testing.T) {
	src := "#!lua name=huge\nredis.register_function('huge_f', function() return 1 end)\n--" + strings.Repeat("x", MaxScriptSize) + "\n"
	_, err := NewRegistry(fstestMap(map[string]string{"h.lua": src}), nil)
	if !errors.Is(err, ErrScriptTooLarge) {
		t.Errorf("NewRegistry = %v, want ErrScriptTooLarge", err)
	}
}

func fstestMap(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return fsys
}
