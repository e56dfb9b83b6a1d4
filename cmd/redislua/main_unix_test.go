//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A named pipe or a link to a device named *.lua made lint hang (opening
// a pipe waits for a writer) or read forever (/dev/zero).
func TestLintRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ok.lua"), []byte("return 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.lua"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.lua")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("ok.lua", filepath.Join(dir, "link.lua")); err != nil {
		t.Fatal(err)
	}
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := runCLI("lint", dir)
		done <- result{code, out, errOut}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(time.Minute):
		t.Fatal("lint still running after a minute")
	}
	if r.code != 1 {
		t.Errorf("lint: exit %d, want 1\n%s%s", r.code, r.out, r.err)
	}
	for _, want := range []string{"pipe.lua is not a regular file (named pipe)", "zero.lua is not a regular file (device)"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("lint output lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "link.lua") || strings.Contains(r.out, "ok.lua") {
		t.Errorf("lint complained about a regular file or a link to one:\n%s", r.out)
	}
}
