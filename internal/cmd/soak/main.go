// Command soak runs the library's scripts for a bounded time against
// real redis-server processes it starts itself (a standalone server, a
// cluster of three masters, or both at once), from many goroutines, while
// it injects faults on a schedule, then checks invariants:
//
//	go run ./internal/cmd/soak -duration 60s -mode both
//
// The workers mix transfer.MoveOnce among hash-tagged accounts (sending
// the same ID again after an unknown outcome), a GET and a cas.FencedSet
// of a counter under a Lock, ratelimit.Limiter.Allow, cas.Swap, and pipelines
// of a script (plain and MULTI/EXEC) on clients with OptimizePipelines.
// The faults are SCRIPT FLUSH and CLIENT KILL TYPE normal on every node,
// and restarts of one node, alternately clean and after SIGKILL. The
// servers keep an AOF fsynced on every write, so a restart loses no
// acknowledged write and every check holds across it.
//
// It prints calls per second and latency per operation, errors by class,
// the recovery time after each kind of fault, and the checks. It exits 1
// if a check fails (a NOSCRIPT outside a plain pipeline is one), 2 if it
// could not run. SIGINT or SIGTERM ends the run early: the checks still
// run and the servers are stopped. The servers listen on free ports of
// 127.0.0.1 and keep their files in temporary directories, removed on
// exit.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/redislua/redislua"
)

//go:embed lua
var files embed.FS

// verifyTimeout bounds the final checks of each target.
const verifyTimeout = 60 * time.Second

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal the run winds down, checks and stops its
		// servers; a second one kills the process at once (the servers
		// die with it: the harness asks the kernel to kill them).
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, cfg, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run starts the targets, soaks them for cfg.duration (or until ctx
// ends), checks them, prints the report to out and returns the exit
// code. It stops everything it started before it returns.
func run(ctx context.Context, cfg config, out, logw io.Writer) int {
	tb := newCmdTB("soak")
	defer tb.close()
	soaks, err := soakAll(ctx, tb, cfg, logw)
	if err != nil {
		fmt.Fprintln(logw, "soak:", err)
		return 2
	}
	printHeader(out, cfg, ctx.Err() != nil)
	failed := false
	for _, s := range soaks {
		if !s.report(out) {
			failed = true
		}
	}
	if failed {
		fmt.Fprintln(out, "RESULT: FAIL")
		return 1
	}
	fmt.Fprintln(out, "RESULT: PASS")
	return 0
}

// soakAll starts a target for each mode, runs them all at once for
// cfg.duration (or until ctx ends) and checks them. The servers it starts
// are stopped by tb.close.
func soakAll(ctx context.Context, tb *cmdTB, cfg config, logw io.Writer) ([]*soak, error) {
	scripts, err := fs.Sub(files, "lua")
	if err != nil {
		return nil, err
	}
	reg, err := redislua.NewRegistry(scripts, nil)
	if err != nil {
		return nil, err
	}
	incr := reg.MustScript("incr")

	var soaks []*soak
	for _, mode := range cfg.modes() {
		fmt.Fprintf(logw, "soak: starting %s servers\n", mode)
		var t *target
		if mode == "standalone" {
			t, err = startStandalone(tb, cfg.retries)
		} else {
			t, err = startCluster(tb, cfg.retries)
		}
		if err != nil {
			return nil, fmt.Errorf("starting %s: %w", mode, err)
		}
		s := newSoak(cfg, t, len(soaks), incr)
		setupCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = s.setup(setupCtx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("setting up %s: %w", mode, err)
		}
		soaks = append(soaks, s)
	}

	fmt.Fprintf(logw, "soak: running %v with %d workers per target\n", cfg.duration, cfg.workers)
	runCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range soaks {
		wg.Go(func() { s.run(runCtx, tb) })
	}
	wg.Wait()

	fmt.Fprintln(logw, "soak: checking")
	for _, s := range soaks {
		wg.Go(func() { s.verify(time.Now().Add(verifyTimeout)) })
	}
	wg.Wait()
	return soaks, nil
}

// verify runs the final checks, once the workers and the injector have
// stopped.
func (s *soak) verify(deadline time.Time) {
	s.stats = &s.verifyOps
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	for _, n := range s.t.nodes {
		s.server.collect(ctx, n.Addr)
	}
	cancel()
	s.checkTransfers(deadline)
	s.checkLocks(deadline)
	s.checkCAS(deadline)
	s.checkRate()
	s.checkNoScript()
}

// checkNoScript fails for every NOSCRIPT a caller saw, except in plain
// pipelines, where OptimizePipelines documents that a SCRIPT FLUSH in the
// middle of one can cause it.
func (s *soak) checkNoScript() {
	var n int64
	for i := range s.ops {
		n += s.ops[i].errs[classNoScript].Load() + s.verifyOps[i].errs[classNoScript].Load()
	}
	plain := s.outcomes.get(plainNoScript)
	if n > plain {
		s.v.fail(checkNoScript, "%d NOSCRIPT errors reached callers (%d of them in plain pipelines)", n, plain)
	}
	s.v.note(checkNoScript, "%d in plain pipelines", plain)
}
