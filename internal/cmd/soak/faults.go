package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// The faults the injector knows.
const (
	faultFlush   = "SCRIPT FLUSH"
	faultKill    = "CLIENT KILL TYPE normal"
	faultRestart = "restart (SHUTDOWN NOSAVE)"
	faultCrash   = "crash (SIGKILL) and restart"
)

var faultKinds = []string{faultFlush, faultKill, faultRestart, faultCrash}

// probeTimeout bounds each probe call; probePause is the pause between
// failed probes.
const (
	probeTimeout = 500 * time.Millisecond
	probePause   = 5 * time.Millisecond
)

// faultRecord is one injected fault.
type faultRecord struct {
	kind string
	node string
	at   time.Duration // since the run started
	// down is how long the server took to stop and start again
	// (restarts); 0 for the others.
	down time.Duration
	// recovery is how long, after the fault (after the server was back,
	// for restarts), until a script call through the work client
	// succeeded on every node the fault hit.
	recovery  time.Duration
	recovered bool
	killed    int64 // connections CLIENT KILL closed
}

type faultLog struct {
	mu      sync.Mutex
	records []faultRecord
}

func (f *faultLog) add(r faultRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, r)
}

func (f *faultLog) all() []faultRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.records)
}

// injectFaults injects faults until ctx ends: SCRIPT FLUSH and CLIENT
// KILL on every node, and restarts of one node at a time (round-robin),
// alternately clean (SHUTDOWN NOSAVE) and crashes (SIGKILL), each at
// least its interval after the previous one of its kind. One fault at a
// time: the injector waits until the work client recovers (or
// -max-recovery passes) before the next.
func (s *soak) injectFaults(ctx context.Context, tb *cmdTB) {
	every := map[string]time.Duration{
		faultFlush:   s.cfg.flushEvery,
		faultKill:    s.cfg.killEvery,
		faultRestart: s.cfg.restartEvery,
	}
	next := make(map[string]time.Time)
	for kind, d := range every {
		if d > 0 {
			next[kind] = s.started.Add(d)
		}
	}
	restarts := 0
	for len(next) > 0 {
		kind := ""
		for k, t := range next {
			if kind == "" || t.Before(next[kind]) {
				kind = k
			}
		}
		timer := time.NewTimer(time.Until(next[kind]))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		var err error
		switch kind {
		case faultFlush:
			err = s.adminFault(faultFlush, "SCRIPT", "FLUSH")
		case faultKill:
			err = s.adminFault(faultKill, "CLIENT", "KILL", "TYPE", "normal")
		case faultRestart:
			err = s.restart(tb, restarts)
			restarts++
		}
		if err != nil {
			s.v.fail(checkRecovery, "injecting %s: %v", kind, err)
			delete(next, kind)
			continue
		}
		next[kind] = time.Now().Add(every[kind])
	}
}

// adminFault sends a command to every node and times the recovery on
// every node.
func (s *soak) adminFault(kind string, args ...any) error {
	at := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	n, err := s.t.adminDo(ctx, args...)
	cancel()
	if err != nil {
		return err
	}
	rec := faultRecord{kind: kind, node: "all", at: at.Sub(s.started), killed: n}
	rec.recovery, rec.recovered = s.probe(at, s.t.probeKeys...)
	s.faults.add(rec)
	return nil
}

// restart restarts node i%len(nodes): cleanly for even i, as a crash for
// odd i.
func (s *soak) restart(tb *cmdTB, i int) error {
	node := i % len(s.t.nodes)
	srv := s.t.nodes[node]
	kind := faultRestart
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	s.server.collect(ctx, srv.Addr)
	cancel()
	at := time.Now()
	err := tb.do(func() {
		if i%2 == 1 {
			kind = faultCrash
			srv.Kill()
		}
		srv.Restart(tb)
	})
	if err != nil {
		return err
	}
	back := time.Now()
	rec := faultRecord{kind: kind, node: srv.Addr, at: at.Sub(s.started), down: back.Sub(at)}
	rec.recovery, rec.recovered = s.probe(back, s.t.probeKeys[node])
	s.faults.add(rec)
	return nil
}

// probe runs the incr script on each key through the work client until
// it succeeds, and returns how long after from the last one did, and
// whether all did within -max-recovery.
func (s *soak) probe(from time.Time, keys ...string) (time.Duration, bool) {
	deadline := from.Add(s.cfg.maxRecovery)
	for _, key := range keys {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
			start := time.Now()
			err := s.incr.Run(ctx, s.t.client, []string{key}, 1).Err()
			cancel()
			s.record(opProbe, time.Since(start), err)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				s.v.fail(checkRecovery, "%s not served %v after the fault: %v", key, s.cfg.maxRecovery, err)
				return time.Since(from), false
			}
			time.Sleep(probePause)
		}
	}
	return time.Since(from), true
}

// faultSummary is the recoveries of one kind of fault.
type faultSummary struct {
	kind           string
	count          int
	failed         int
	killed         int64
	recovery, down []time.Duration
}

func summarize(records []faultRecord) []faultSummary {
	var out []faultSummary
	for _, kind := range faultKinds {
		fs := faultSummary{kind: kind}
		for _, r := range records {
			if r.kind != kind {
				continue
			}
			fs.count++
			fs.killed += r.killed
			if !r.recovered {
				fs.failed++
			}
			fs.recovery = append(fs.recovery, r.recovery)
			if r.down > 0 {
				fs.down = append(fs.down, r.down)
			}
		}
		if fs.count > 0 {
			out = append(out, fs)
		}
	}
	return out
}

// spread renders durations as "min / median / max".
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	r := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	return fmt.Sprintf("%s / %s / %s", r(ds[0]), r(ds[len(ds)/2]), r(ds[len(ds)-1]))
}
