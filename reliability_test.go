package redislua

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
)

// countThenSpin counts its run in its key, then keeps the server busy for
// ARGV[1] microseconds.
var countThenSpin = MustNewScript("slow", `-- @key runs
-- @arg micros
redis.call('INCR', KEYS[1])
local t0 = redis.call('TIME')
local start = t0[1] * 1000000 + t0[2]
while true do
  local t = redis.call('TIME')
  if t[1] * 1000000 + t[2] - start > tonumber(ARGV[1]) then break end
end
return 1`)

// spinScript runs until killed; with write set, it writes first, which
// makes it unkillable.
func spinScript(t *testing.T, write bool) *Script {
	src := "-- @key k\nlocal n = 0\nwhile true do n = n + 1 end\nreturn n"
	if write {
		src = "-- @key k\nredis.call('SET', KEYS[1], 'x')\nlocal n = 0\nwhile true do n = n + 1 end\nreturn n"
	}
	s, err := NewScript("spin", src)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitBusy polls with probe until the server answers BUSY; each poll is
// one command (nothing retries into the busy server).
func waitBusy(t *testing.T, probe *redis.Client, rec *testbackend.Recorder) error {
	t.Helper()
	s := MustNewScript("probe", "-- @key k\nreturn 1")
	if err := s.Load(context.Background(), probe); err != nil && !errors.Is(err, ErrBusy) {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		rec.Take()
		err := s.Run(context.Background(), probe, []string{"probe"}).Err()
		if sent := rec.Take(); len(sent) != 1 {
			t.Fatalf("one Run against a busy server sent %v, want exactly one command", sent)
		}
		if errors.Is(err, ErrBusy) {
			return err
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not a wait for the outcome
	}
	t.Fatal("the server never answered BUSY")
	return nil
}

func TestBusyScriptIsKilledWithKillScript(t *testing.T) {
	srv := redistest.Start(t, "--busy-reply-threshold", "100")
	runner := redis.NewClient(&redis.Options{Addr: srv.Addr, ReadTimeout: 30 * time.Second})
	t.Cleanup(func() { _ = runner.Close() })
	b := newBackend(t, "redis", srv.Addr, true)
	ctx := context.Background()

	if err := KillScript(ctx, b.client); !errors.Is(err, ErrNotBusy) {
		t.Fatalf("KillScript with nothing running = %v, want ErrNotBusy", err)
	}
	done := make(chan error, 1)
	go func() { done <- spinScript(t, false).Run(ctx, runner, []string{"spin"}).Err() }()

	busy := waitBusy(t, b.client, b.sent)
	var se *ScriptError
	if !errors.As(busy, &se) || se.Script != "probe" {
		t.Fatalf("busy error = %v, want a *ScriptError naming the probe", busy)
	}
	if err := KillScript(ctx, b.client); err != nil {
		t.Fatalf("KillScript = %v", err)
	}
	err := <-done
	if !errors.As(err, &se) || se.Script != "spin" || se.Line != 3 || !strings.Contains(se.Message, "SCRIPT KILL") {
		t.Fatalf("killed script's error = %v, want spin line 3 killed by SCRIPT KILL", err)
	}
	if err := MustNewScript("after", "return 1").Run(ctx, b.client, nil).Err(); err != nil {
		t.Fatalf("server still busy after the kill: %v", err)
	}
}

func TestBusyScriptThatWroteIsUnkillable(t *testing.T) {
	srv := redistest.Start(t, "--busy-reply-threshold", "100")
	runner := redis.NewClient(&redis.Options{Addr: srv.Addr, ReadTimeout: 30 * time.Second, MaxRetries: -1})
	t.Cleanup(func() { _ = runner.Close() })
	b := newBackend(t, "redis", srv.Addr, true)
	ctx := context.Background()

	done := make(chan error, 1)
	go func() { done <- spinScript(t, true).Run(ctx, runner, []string{"spin"}).Err() }()
	waitBusy(t, b.client, b.sent)
	err := KillScript(ctx, b.client)
	if !errors.Is(err, ErrUnkillable) {
		t.Fatalf("KillScript = %v, want ErrUnkillable", err)
	}
	srv.Kill() // only SHUTDOWN NOSAVE or a kill stops it
	if err := <-done; err == nil {
		t.Fatal("the unkillable script's caller got no error after the server died")
	}
}

func TestKillScriptOnCluster(t *testing.T) {
	cc := sharedCluster(t)
	if err := KillScript(context.Background(), cc); !errors.Is(err, ErrNotBusy) {
		t.Fatalf("KillScript on an idle cluster = %v, want ErrNotBusy", err)
	}
	if err := KillScript(context.Background(), nil); !errors.Is(err, ErrNilClient) {
		t.Fatalf("KillScript(nil) = %v", err)
	}
}

// With maxmemory reached and noeviction, a writing script fails with ErrOOM
// and changes nothing; read-only scripts still run. Real Redis only:
// miniredis has no memory limit.
func TestOOMRefusesWritesOnly(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	b.client.Set(ctx, "{oom}:a", 100, 0)
	b.client.Set(ctx, "{oom}:b", 5, 0)
	used := b.client.Info(ctx, "memory").Val()
	if err := b.client.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.client.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil { // below what is used
		t.Fatal(err)
	}
	t.Cleanup(func() { b.client.ConfigSet(context.Background(), "maxmemory", "0") })

	incr := MustNewScript("incr", incrSrc)
	if err := incr.Run(ctx, b.client, []string{"{oom}:a"}, 1).Err(); !errors.Is(err, ErrOOM) {
		t.Fatalf("a writing script under OOM = %v, want ErrOOM (memory: %.80s)", err, used)
	}
	for key, want := range map[string]string{"{oom}:a": "100", "{oom}:b": "5"} {
		if got := b.client.Get(ctx, key).Val(); got != want {
			t.Fatalf("%s = %s after refused writes, want %s", key, got, want)
		}
	}
	readers := []*Script{
		MustNewScript("ro-header", "-- @readonly\nreturn redis.call('GET', KEYS[1])"),
		MustNewScript("ro-shebang", "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])"),
		MustNewScript("plain-reader", "return redis.call('GET', KEYS[1])"),
	}
	for _, s := range readers {
		if got, err := s.Run(ctx, b.client, []string{"{oom}:a"}).Text(); err != nil || got != "100" {
			t.Errorf("%s under OOM = %q, %v; want 100", s.Name(), got, err)
		}
	}
	// Redis 7 refuses a script with a shebang lacking no-writes before it
	// starts, even if it only reads.
	if err := MustNewScript("shebang-reader", "#!lua\nreturn redis.call('GET', KEYS[1])").Run(ctx, b.client, []string{"{oom}:a"}).Err(); !errors.Is(err, ErrOOM) {
		t.Errorf("a #!lua script without no-writes under OOM = %v, want ErrOOM", err)
	}
}

// A deadline that expires while a script runs returns the context's error,
// and the script is not sent again: it ran exactly once. go-redis applies a
// context's deadline to the socket only with ContextTimeoutEnabled; without
// it the call waits for the reply (up to ReadTimeout), as README says.
func TestContextDeadlineWhileScriptRunsSendsItOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := redis.NewClient(&redis.Options{Addr: b.client.Options().Addr, ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = c.Close() })
		c.AddHook(b.sent)
		slow := countThenSpin
		if err := slow.Load(ctx, c); err != nil {
			t.Fatal(err)
		}
		b.sent.Take()
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := slow.Run(tctx, c, []string{"runs"}, 300000).Err() // busy for 300 ms
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 250*time.Millisecond {
			t.Fatalf("err = %v after %v, want context.DeadlineExceeded at the deadline", err, time.Since(start))
		}
		if sent := b.sent.Take(); len(sent) != 1 {
			t.Fatalf("sent %v, want one EVALSHA and no re-send", sent)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, err := b.client.Get(ctx, "runs").Int()
			if err == nil && n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("runs = %d, %v; want the script to have run exactly once", n, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// SHUTDOWN NOSAVE and a fresh start on the same port mid-workload: callers
// see connection errors while it is down, never NOSCRIPT, and recover.
func TestRestartMidWorkloadRecoversWithoutNoScript(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	s := MustNewScript("incr", incrSrc)
	if err := s.Load(ctx, c); err != nil {
		t.Fatal(err)
	}
	var (
		stop      atomic.Bool
		wg        sync.WaitGroup
		mu        sync.Mutex
		noScript  int
		okBefore  atomic.Int64
		okAfter   atomic.Int64
		restarted atomic.Bool
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				err := s.Run(ctx, c, []string{"restart"}, 1).Err()
				if err != nil && (errors.Is(err, ErrNoScript) || strings.Contains(err.Error(), "NOSCRIPT")) {
					mu.Lock()
					noScript++
					mu.Unlock()
				}
				if err == nil {
					if restarted.Load() {
						okAfter.Add(1)
					} else {
						okBefore.Add(1)
					}
				}
			}
		}()
	}
	for okBefore.Load() < 100 { // the workload is running
		time.Sleep(5 * time.Millisecond)
	}
	srv.Restart(t) // SHUTDOWN NOSAVE, then a fresh process: empty script cache
	restarted.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for okAfter.Load() < 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if noScript != 0 {
		t.Fatalf("%d calls saw NOSCRIPT", noScript)
	}
	if okAfter.Load() < 100 {
		t.Fatalf("only %d calls succeeded after the restart", okAfter.Load())
	}
}
