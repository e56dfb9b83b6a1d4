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

// The same given as the file PATH: opening it to learn what it is waited
// for a writer forever.
func TestLintFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.lua"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.lua")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pipe.lua", "zero.lua"} {
		done := make(chan [3]any, 1)
		go func() {
			code, out, errOut := runCLI("lint", filepath.Join(dir, name))
			done <- [3]any{code, out, errOut}
		}()
		select {
		case r := <-done:
			if r[0] != 1 || !strings.Contains(r[1].(string), "not a regular file") {
				t.Errorf("lint %s: exit %v, want 1 saying it is not a regular file\n%s%s", name, r[0], r[1], r[2])
			}
		case <-time.After(time.Minute):
			t.Fatalf("lint %s still running after a minute", name)
		}
	}
}
