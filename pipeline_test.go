package redislua

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// Each pipeline sends one SCRIPT LOAD per script and EVALSHA for every
// call, after a flush too; the client's first pipeline is preceded by one
// SCRIPT LOAD on its own (the probe).
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
					if got := fmt.Sprint(countNames(incrs)); got != "map[evalsha:100]" {
						t.Fatalf("incr commands %s, want 100 evalsha", got)
					}
					if got := fmt.Sprint(countNames(gets)); got != "map[evalsha_ro:100]" {
						t.Fatalf("get commands %s, want 100 evalsha_ro", got)
					}
				}
				if b.real {
					stats := b.client.Info(ctx, "commandstats").Val()
					for _, want := range []string{"cmdstat_script|load:calls=7,", "cmdstat_evalsha:calls=300,", "cmdstat_evalsha_ro:calls=300,"} {
						if !strings.Contains(stats, want) {
							t.Errorf("server commandstats lack %q", want)
						}
					}
					if strings.Contains(stats, "cmdstat_eval:") || strings.Contains(stats, "cmdstat_eval_ro:") {
						t.Error("the server ran EVAL or EVAL_RO")
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

// Tests of OptimizePipelines under conditions that break a naive rewrite:
// the server refusing the call that would have cached a script, a busy
// server, transactions run by Watch, scripts that share a source.

// An ACL user refused one key: the refused call is the first of its script
// in the pipeline, and the server refuses it before it can cache the
// script. The calls behind it must still run.
func TestOptimizePipelinesFirstCallRefusedByACL(t *testing.T) {
	srv := redistest.Start(t)
	app := srv.CreateUser(t, "app", "s3cret", slices.Concat(appUserRules, []string{"+multi", "+exec"})...)
	if err := OptimizePipelines(app); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := MustNewScript("incr", incrSrc)
	for _, tx := range []bool{false, true} {
		srv.Client(t).ScriptFlush(ctx)
		pipe := app.Pipeline()
		if tx {
			pipe = app.TxPipeline()
		}
		refused := s.Run(ctx, pipe, []string{"other:x"}, 1)
		var allowed []*redis.Cmd
		for i := 0; i < 4; i++ {
			allowed = append(allowed, s.Run(ctx, pipe, []string{"app:refused-first"}, 1))
		}
		_, execErr := pipe.Exec(ctx)
		if !errors.Is(refused.Err(), ErrNoPerm) {
			t.Fatalf("tx=%v: call on a forbidden key: %v, want ErrNoPerm", tx, refused.Err())
		}
		if !errors.Is(execErr, ErrNoPerm) {
			t.Errorf("tx=%v: Exec = %v, want the refused call's ErrNoPerm", tx, execErr)
		}
		for i, cmd := range allowed {
			err := cmd.Err()
			if tx {
				// The server discards a transaction with a refused command:
				// nothing runs, with or without the hook.
				if err == nil || errors.Is(err, ErrNoScript) {
					t.Fatalf("tx: call %d: %v, want the transaction's abort", i, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("call %d (%v) after the refused one: %v", i, cmd.Args()[0], err)
			}
		}
	}
}

// A user who may run scripts but not SCRIPT LOAD: pipelines still run,
// with a plain EVAL per call.
func TestOptimizePipelinesWithoutScriptLoad(t *testing.T) {
	srv := redistest.Start(t)
	rules := []string{"+multi", "+exec"}
	for _, r := range appUserRules {
		if r != "+script|load" {
			rules = append(rules, r)
		}
	}
	app := srv.CreateUser(t, "app", "s3cret", rules...)
	if err := OptimizePipelines(app); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := MustNewScript("incr", incrSrc)
	for round := 0; round < 2; round++ {
		for _, tx := range []bool{false, true} {
			srv.Client(t).ScriptFlush(ctx)
			pipe := app.Pipeline()
			if tx {
				pipe = app.TxPipeline()
			}
			var cmds []*redis.Cmd
			for i := 0; i < 5; i++ {
				cmds = append(cmds, s.Run(ctx, pipe, []string{"app:noload"}, 1))
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatalf("round %d tx=%v: %v", round, tx, err)
			}
			for i, cmd := range cmds {
				if err := cmd.Err(); err != nil {
					t.Fatalf("round %d tx=%v call %d: %v", round, tx, i, err)
				}
			}
		}
	}
}

// With maxmemory reached, Redis refuses a "#!lua" script that may write
// before it starts, so its first EVAL caches nothing. A DEL further down
// the pipeline frees memory: the calls behind it must run, as they do
// without the hook.
func TestOptimizePipelinesFirstCallRefusedByOOM(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	if err := OptimizePipelines(c); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := MustNewScript("oom-incr", "#!lua\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])")
	if err := c.Set(ctx, "oom:big", strings.Repeat("x", 8<<20), 0).Err(); err != nil {
		t.Fatal(err)
	}
	used, err := usedMemory(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config(t, "maxmemory-policy", "noeviction", "maxmemory", strconv.FormatInt(used-4<<20, 10))
	t.Cleanup(func() { c.ConfigSet(context.Background(), "maxmemory", "0") })
	c.ScriptFlush(ctx)

	pipe := c.Pipeline()
	refused := s.Run(ctx, pipe, []string{"oom:n"}, 1)
	pipe.Del(ctx, "oom:big")
	var later []*redis.Cmd
	for i := 0; i < 3; i++ {
		later = append(later, s.Run(ctx, pipe, []string{"oom:n"}, 1))
	}
	_, _ = pipe.Exec(ctx)
	if !errors.Is(refused.Err(), ErrOOM) {
		t.Fatalf("call under OOM: %v, want ErrOOM", refused.Err())
	}
	for i, cmd := range later {
		if got, err := cmd.Int64(); err != nil || got != int64(i+1) {
			t.Fatalf("call %d (%v) after the DEL = %d, %v; want %d", i, cmd.Args()[0], got, err, i+1)
		}
	}
}

// usedMemory is the server's used_memory.
func usedMemory(ctx context.Context, c *redis.Client) (int64, error) {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	_, rest, ok := strings.Cut(info, "used_memory:")
	if !ok {
		return 0, fmt.Errorf("no used_memory in %.80q", info)
	}
	return strconv.ParseInt(strings.TrimSpace(strings.SplitN(rest, "\n", 2)[0]), 10, 64)
}

// When a command that is not a script fails first, Exec returns its error,
// unmapped, even if a script command behind it failed with the same text.
func TestOptimizePipelinesExecErrorIsTheFirstFailure(t *testing.T) {
	srv := redistest.Start(t, "--busy-reply-threshold", "100")
	runner := redis.NewClient(&redis.Options{Addr: srv.Addr, ReadTimeout: 30 * time.Second})
	t.Cleanup(func() { _ = runner.Close() })
	b := newBackend(t, "redis", srv.Addr, true)
	if err := OptimizePipelines(b.client); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- spinScript(t, false).Run(ctx, runner, []string{"spin"}).Err() }()
	waitBusy(t, b.client, b.sent)
	defer func() {
		if err := KillScript(ctx, b.client); err != nil {
			t.Errorf("KillScript: %v", err)
		}
		<-done
	}()

	s := MustNewScript("incr", incrSrc)
	pipe := b.client.Pipeline()
	get := pipe.Get(ctx, "busy:get")
	call := s.Run(ctx, pipe, []string{"busy:n"}, 1)
	_, execErr := pipe.Exec(ctx)
	if !errors.Is(call.Err(), ErrBusy) {
		t.Fatalf("script call: %v, want ErrBusy", call.Err())
	}
	var se *ScriptError
	if execErr == nil || execErr != get.Err() || errors.As(execErr, &se) {
		t.Fatalf("Exec = %v (%T), want GET's own error %v", execErr, execErr, get.Err())
	}
}

// ClusterClient.Watch runs the transaction on a node's client: its script
// errors are mapped as on every other path. So are Ring.Watch's and
// Client.Watch's.
func TestOptimizePipelinesMapsErrorsInWatch(t *testing.T) {
	ctx := context.Background()
	check := MustNewScript("check", "local n = tonumber(ARGV[1])\nif n < 0 then error('negative') end\nreturn n")
	watch := func(t *testing.T, w func(ctx context.Context, fn func(*redis.Tx) error, keys ...string) error, key string) {
		t.Helper()
		var ok, bad *redis.Cmd
		var execErr error
		err := w(ctx, func(tx *redis.Tx) error {
			_, execErr = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				ok = check.Run(ctx, p, []string{key}, 1)
				bad = check.Run(ctx, p, []string{key}, -1)
				return nil
			})
			return nil
		}, key)
		if err != nil {
			t.Fatal(err)
		}
		if ok.Err() != nil {
			t.Fatal(ok.Err())
		}
		var se *ScriptError
		if !errors.As(bad.Err(), &se) || se.Script != "check" || se.Line != 2 {
			t.Fatalf("failed call in Watch: %v (%T), want a *ScriptError on line 2", bad.Err(), bad.Err())
		}
		if execErr != bad.Err() {
			t.Fatalf("TxPipelined = %v, want the failed call's %v", execErr, bad.Err())
		}
	}
	t.Run("cluster", func(t *testing.T) {
		cc := optimizedCluster(t)
		watch(t, cc.Watch, "{"+t.Name()+"}:w")
	})
	t.Run("ring", func(t *testing.T) {
		ring, _ := newRing(t)
		watch(t, ring.Watch, t.Name()+":w")
	})
	t.Run("client", func(t *testing.T) {
		c := realRedis(t).client
		if err := OptimizePipelines(c); err != nil {
			t.Fatal(err)
		}
		watch(t, c.Watch, t.Name()+":w")
	})
}

// Two scripts with the same source have the same SHA1: an error is mapped
// to the script of the command that failed, never to the other one.
func TestOptimizePipelinesMapsErrorsToTheFailedCommandsScript(t *testing.T) {
	const src = "local n = tonumber(ARGV[1])\nif n < 0 then error('negative') end\nreturn n"
	ctx := context.Background()
	run := func(t *testing.T, c redis.Cmdable, key string) {
		t.Helper()
		first, second := MustNewScript("first", src), MustNewScript("second", src)
		for _, order := range [][]*Script{{first, second}, {second, first}} {
			pipe := c.Pipeline()
			okCmd := order[0].Run(ctx, pipe, []string{key}, 1)
			bad := order[1].Run(ctx, pipe, []string{key}, -1)
			_, execErr := pipe.Exec(ctx)
			if okCmd.Err() != nil {
				t.Fatal(okCmd.Err())
			}
			var se *ScriptError
			if !errors.As(bad.Err(), &se) || se.Script != order[1].Name() {
				t.Fatalf("failed call of %s: %v, want a *ScriptError naming %s", order[1].Name(), bad.Err(), order[1].Name())
			}
			if !errors.As(execErr, &se) || se.Script != order[1].Name() {
				t.Fatalf("Exec = %v, want the error naming %s", execErr, order[1].Name())
			}
		}
	}
	t.Run("client", func(t *testing.T) {
		c := realRedis(t).client
		if err := OptimizePipelines(c); err != nil {
			t.Fatal(err)
		}
		run(t, c, t.Name())
	})
	t.Run("cluster", func(t *testing.T) {
		run(t, optimizedCluster(t), "{"+t.Name()+"}")
	})
	t.Run("ring", func(t *testing.T) {
		ring, _ := newRing(t)
		run(t, ring, t.Name())
	})
}

// A script the server cannot compile: its SCRIPT LOAD fails, and so does
// every call, each with the *SyntaxError Run gives outside pipelines, not
// with NOSCRIPT.
//
// NewScript compiles and checks scripts itself, so only limits of Redis's
// Lua that the checks do not model reach the server: a call with 300
// arguments needs more than Lua 5.1's 250 registers ("function or
// expression too complex"); gopher-lua (and miniredis) compile it.
func TestOptimizePipelinesCompileError(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	if err := OptimizePipelines(b.client); err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	src.WriteString("return math.max(0")
	for i := 1; i < 300; i++ {
		fmt.Fprintf(&src, ", %d", i)
	}
	src.WriteString(")")
	broken, err := NewScript("broken", src.String())
	if err != nil {
		t.Fatalf("NewScript refuses the source: %v", err)
	}
	good := MustNewScript("good", "return 7")
	for _, tx := range []bool{false, true} {
		pipe := b.client.Pipeline()
		if tx {
			pipe = b.client.TxPipeline()
		}
		var cmds []*redis.Cmd
		for i := 0; i < 3; i++ {
			cmds = append(cmds, broken.Run(ctx, pipe, nil))
		}
		ok := good.Run(ctx, pipe, nil)
		_, execErr := pipe.Exec(ctx)
		var se *SyntaxError
		for i, cmd := range cmds {
			if !errors.As(cmd.Err(), &se) || se.Script != "broken" {
				t.Fatalf("tx=%v call %d (%v): %v, want a *SyntaxError", tx, i, cmd.Args()[0], cmd.Err())
			}
		}
		if !errors.As(execErr, &se) {
			t.Fatalf("tx=%v: Exec = %v, want the first call's *SyntaxError", tx, execErr)
		}
		if got, err := ok.Int64(); err != nil || got != 7 {
			t.Fatalf("tx=%v: the other script = %d, %v; want 7", tx, got, err)
		}
	}
}

// A user who loses the right to SCRIPT LOAD while the client runs: the
// pipeline in flight fails with the load's refusal (not NOSCRIPT), a
// transaction is discarded, and later pipelines run with plain EVAL.
func TestOptimizePipelinesScriptLoadRevoked(t *testing.T) {
	srv := redistest.Start(t)
	rules := slices.Concat(appUserRules, []string{"+multi", "+exec"})
	app := srv.CreateUser(t, "app", "s3cret", rules...)
	if err := OptimizePipelines(app); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := MustNewScript("incr", incrSrc)
	run := func(tx bool) ([]*redis.Cmd, error) {
		srv.Client(t).ScriptFlush(ctx)
		pipe := app.Pipeline()
		if tx {
			pipe = app.TxPipeline()
		}
		var cmds []*redis.Cmd
		for i := 0; i < 3; i++ {
			cmds = append(cmds, s.Run(ctx, pipe, []string{"app:revoked"}, 1))
		}
		_, err := pipe.Exec(ctx)
		return cmds, err
	}
	if _, err := run(false); err != nil {
		t.Fatal(err)
	}
	var revoked []string
	for _, r := range rules {
		if r != "+script|load" {
			revoked = append(revoked, r)
		}
	}
	srv.CreateUser(t, "app", "s3cret", revoked...) // the same user, redefined

	// The server refuses the SCRIPT LOAD when MULTI queues it.
	cmds, err := run(true)
	if err == nil {
		t.Fatal("a transaction whose SCRIPT LOAD was refused ran")
	}
	for i, cmd := range cmds {
		if cmd.Err() == nil || errors.Is(cmd.Err(), ErrNoScript) {
			t.Fatalf("call %d of the discarded transaction: %v", i, cmd.Err())
		}
	}
	for _, tx := range []bool{false, true} {
		cmds, err := run(tx)
		if err != nil {
			t.Fatalf("tx=%v after the refusal: %v", tx, err)
		}
		if got := countNames(cmds); got["eval"] != len(cmds) {
			t.Fatalf("tx=%v after the refusal: sent as %v, want plain EVAL", tx, got)
		}
	}

	// A plain pipeline in flight: its calls fail with the refusal.
	app2 := srv.CreateUser(t, "app2", "s3cret", rules...)
	if err := OptimizePipelines(app2); err != nil {
		t.Fatal(err)
	}
	pipe := app2.Pipeline()
	s.Run(ctx, pipe, []string{"app:revoked"}, 1)
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	srv.CreateUser(t, "app2", "s3cret", revoked...)
	srv.Client(t).ScriptFlush(ctx)
	pipe = app2.Pipeline()
	call := s.Run(ctx, pipe, []string{"app:revoked"}, 1)
	_, err = pipe.Exec(ctx)
	if !errors.Is(call.Err(), ErrNoPerm) || !errors.Is(err, ErrNoPerm) {
		t.Fatalf("call after the refused SCRIPT LOAD: %v (Exec: %v), want ErrNoPerm", call.Err(), err)
	}
}

// What the docs say of results in a pipeline: the *redis.Cmd Run returns
// carries the result; the Cmder Exec lists for it is the wrapper that
// marks it never to be re-sent (not a *redis.Cmd), with the same result.
func TestPipelineResultsAreReadFromRunsCommand(t *testing.T) {
	b := forMiniredis(t)
	ctx := context.Background()
	s := MustNewScript("seven", "return 7")
	pipe := b.client.Pipeline()
	cmd := s.Run(ctx, pipe, nil)
	cmds, err := pipe.Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cmd.Int64(); err != nil || got != 7 {
		t.Fatalf("Run's command = %d, %v; want 7", got, err)
	}
	if _, isCmd := cmds[0].(*redis.Cmd); isCmd {
		t.Errorf("Exec lists a *redis.Cmd: update run.go's doc and docs/pipelines.md")
	}
	if cmds[0].Err() != nil {
		t.Errorf("Exec's Cmder: %v", cmds[0].Err())
	}
}
