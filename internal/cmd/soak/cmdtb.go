package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
)

// cmdTB lets the command use internal/redistest, whose functions take a
// testing.TB, outside a test. testing.TB has an unexported method, so it
// cannot be implemented from scratch: cmdTB embeds a nil testing.TB for
// that method and defines every method redistest calls (Helper, Cleanup,
// Fatal, Fatalf, Skip, TempDir) plus the other common ones. A method left
// to the nil embedded value panics, which run turns into an error.
//
// Fatal, Fatalf, FailNow and the Skip methods panic with a tbStop, which
// do recovers into an error, so that a harness failure (a server that does
// not start, a restart that fails) ends the soak cleanly instead of
// calling runtime.Goexit as a test would. Cleanup functions run, last
// registered first, in close.
type cmdTB struct {
	testing.TB // nil; see above

	name string

	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

// tbStop is the panic value of a Fatal or Skip call.
type tbStop struct {
	msg  string
	skip bool
}

func newCmdTB(name string) *cmdTB { return &cmdTB{name: name} }

// do runs f and returns the message of a Fatal or Skip call in it as an
// error. Other panics go on.
func (t *cmdTB) do(f func()) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		stop, ok := r.(tbStop)
		if !ok {
			panic(r)
		}
		if stop.skip {
			err = fmt.Errorf("skipped: %s", stop.msg)
		} else {
			err = fmt.Errorf("%s", stop.msg)
		}
	}()
	f()
	return nil
}

// close runs the cleanup functions, last registered first. It may be
// called more than once; each function runs once.
func (t *cmdTB) close() {
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		f()
	}
}

func (t *cmdTB) Helper()      {}
func (t *cmdTB) Name() string { return t.name }

func (t *cmdTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *cmdTB) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *cmdTB) Skipped() bool { return false }

func (t *cmdTB) Log(args ...any) { fmt.Fprintln(os.Stderr, args...) }

func (t *cmdTB) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

func (t *cmdTB) Error(args ...any) {
	t.Fail()
	t.Log(args...)
}

func (t *cmdTB) Errorf(format string, args ...any) {
	t.Fail()
	t.Logf(format, args...)
}

func (t *cmdTB) Fail() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = true
}

func (t *cmdTB) FailNow() {
	t.Fail()
	panic(tbStop{msg: "FailNow"})
}

func (t *cmdTB) Fatal(args ...any) {
	t.Fail()
	panic(tbStop{msg: fmt.Sprint(args...)})
}

func (t *cmdTB) Fatalf(format string, args ...any) {
	t.Fail()
	panic(tbStop{msg: fmt.Sprintf(format, args...)})
}

func (t *cmdTB) Skip(args ...any) { panic(tbStop{msg: fmt.Sprint(args...), skip: true}) }

func (t *cmdTB) Skipf(format string, args ...any) {
	panic(tbStop{msg: fmt.Sprintf(format, args...), skip: true})
}

func (t *cmdTB) SkipNow() { panic(tbStop{msg: "SkipNow", skip: true}) }

// TempDir returns a new directory, removed by close.
func (t *cmdTB) TempDir() string {
	dir, err := os.MkdirTemp("", "redislua-soak-")
	if err != nil {
		t.Fatalf("TempDir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// Context returns a context that is never cancelled: the soak stops its
// servers through close.
func (t *cmdTB) Context() context.Context { return context.Background() }
