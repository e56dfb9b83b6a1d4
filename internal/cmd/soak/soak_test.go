package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/transfer"
)

// A two-second soak of one standalone server, with every kind of fault
// injected at least once, must do work of every kind and pass every check.
func TestSoakStandaloneSmoke(t *testing.T) {
	redistest.RequireRedis(t)
	cfg := config{
		duration:     2 * time.Second,
		workers:      4,
		mode:         "standalone",
		seed:         1,
		flushEvery:   300 * time.Millisecond,
		killEvery:    500 * time.Millisecond,
		restartEvery: 600 * time.Millisecond,
		maxRecovery:  10 * time.Second,
		retries:      -1,
	}
	tb := newCmdTB(t.Name())
	t.Cleanup(tb.close)
	var logw bytes.Buffer
	soaks, err := soakAll(context.Background(), tb, cfg, &logw)
	if err != nil {
		t.Fatalf("soakAll: %v\n%s", err, logw.String())
	}
	if len(soaks) != 1 {
		t.Fatalf("%d targets, want 1", len(soaks))
	}
	s := soaks[0]
	var out bytes.Buffer
	if !s.report(&out) {
		t.Fatalf("a check failed:\n%s", out.String())
	}
	for o := range numOps {
		if o == opLockTTL {
			continue // only after a FencedSet of unknown outcome
		}
		if s.ops[o].ok.Load() == 0 {
			t.Errorf("no successful %s call:\n%s", op(o), out.String())
		}
	}
	seen := make(map[string]int)
	for _, r := range s.faults.all() {
		seen[r.kind]++
	}
	for _, kind := range faultKinds {
		if seen[kind] == 0 {
			t.Errorf("no %s injected (faults: %v):\n%s", kind, seen, out.String())
		}
	}
}

// The report fails a target whose check failed, which makes the command
// exit 1.
func TestReportFailsOnViolation(t *testing.T) {
	s := newSoak(config{workers: 1}, &target{name: "fake"}, 0, nil)
	s.started = time.Now()
	s.stopped = s.started.Add(time.Second)
	if !s.report(io.Discard) {
		t.Fatal("report failed with no violation")
	}
	s.v.fail(checkOneHolder, "two holders")
	var out bytes.Buffer
	if s.report(&out) {
		t.Fatalf("report passed with a violation:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "FAIL  "+checkOneHolder) {
		t.Errorf("report does not name the failed check:\n%s", out.String())
	}
}

// NOSCRIPT must be recognised however it arrives, since the soak fails
// on it; connection trouble must be retryable and script errors not.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want class
	}{
		{fmt.Errorf("wrapped: %w", redislua.ErrNoScript), classNoScript},
		{redis.ErrClosed, classConnection},
		{io.EOF, classConnection},
		{fmt.Errorf("redislua: acquiring lock %q: %w", "k", io.EOF), classConnection},
		{context.DeadlineExceeded, classContext},
		{redislua.ErrBusy, classBusy},
		{redislua.ErrOOM, classOOM},
		{transfer.ErrIDReused, classOther},
		{errors.New("something else"), classOther},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if !retryable(io.EOF) || retryable(transfer.ErrIDReused) {
		t.Error("retryable: EOF must be retryable, a reused ID not")
	}
}
