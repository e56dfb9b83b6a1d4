package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/redislua/redislua/internal/redistest"
)

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(cliArgsEnv); ok {
		os.Exit(run(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
	}
	redistest.Main(m)
}

// runCLI runs the command line and returns its exit code and output.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

var findingLine = regexp.MustCompile(`^\S+\.lua:\d+:\d+: (error|warning)\[[a-zA-Z-]+\] .+$`)

func TestLint(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantOut  []string
	}{
		{[]string{"lint", "testdata/clean"}, 0, nil},
		{[]string{"lint", "testdata/warn"}, 0, []string{"testdata/warn/log.lua:3:27: warning[key-not-from-KEYS] "}},
		{[]string{"lint", "-strict", "testdata/warn"}, 1, []string{"testdata/warn/log.lua:3:27: warning[key-not-from-KEYS] "}},
		{[]string{"lint", "-strict", "-ignore", "key-not-from-KEYS", "testdata/warn"}, 0, nil},
		{[]string{"lint", "testdata/clean", "testdata/bad"}, 1, []string{`testdata/bad/counter.lua:2:1: error[global-write] global variable "total" assigned`}},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(tt.args...)
		if code != tt.wantCode {
			t.Errorf("%v: exit %d, want %d\n%s%s", tt.args, code, tt.wantCode, out, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(tt.wantOut) == 0 && out != "" {
			t.Errorf("%v printed %q, want nothing", tt.args, out)
		}
		for i, want := range tt.wantOut {
			if i >= len(lines) || !strings.HasPrefix(lines[i], want) || !findingLine.MatchString(lines[i]) {
				t.Errorf("%v: line %d = %q, want a finding starting %q", tt.args, i, lines, want)
			}
		}
	}
}

func TestShaAndLs(t *testing.T) {
	code, out, errOut := runCLI("sha", "testdata/clean")
	if code != 0 || !regexp.MustCompile(`^charge [0-9a-f]{40}\n$`).MatchString(out) {
		t.Fatalf("sha: exit %d, %q %q; want one line for charge (lib/check is a library)", code, out, errOut)
	}
	code, out, _ = runCLI("ls", "testdata/clean")
	for _, want := range []string{"charge\n", "KEYS[1] account  integer balance", "ARGV[1] amount  positive integer", "returns the new balance"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("ls: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	if code, _, errOut := runCLI("sha", "testdata/bad"); code != 1 || !strings.Contains(errOut, "testdata/bad/counter.lua:2:1: error[global-write]") {
		t.Errorf("sha of a bad dir: exit %d, %q", code, errOut)
	}
}

// A script is named by its path below the directory given, also when that
// directory holds nothing but one directory (names used to start below it
// then).
func TestNamesAreRelativeToTheDirectoryGiven(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "lua", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lua", "sub", "hit.lua"), []byte("return 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ dir, want string }{
		{dir, "lua/sub/hit"},
		{filepath.Join(dir, "lua"), "sub/hit"},
		{filepath.Join(dir, "lua", "sub"), "hit"},
	} {
		code, out, errOut := runCLI("sha", tt.dir)
		if name, _, _ := strings.Cut(out, " "); code != 0 || name != tt.want {
			t.Errorf("sha %s: exit %d, %q %q; want the name %s", tt.dir, code, out, errOut, tt.want)
		}
	}
}

func TestMisuse(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"lint"}, {"load"}, {"sha"}} {
		if code, _, errOut := runCLI(args...); code != 2 || !strings.Contains(errOut, "usage") {
			t.Errorf("%v: exit %d, %q; want 2 and usage", args, code, errOut)
		}
	}
	if code, _, errOut := runCLI("ls", "testdata/missing"); code != 2 || errOut != "redislua: ls: testdata/missing: no such file or directory\n" {
		t.Errorf("missing dir: exit %d, %q", code, errOut)
	}
}

func TestLoad(t *testing.T) {
	srv := redistest.Start(t)
	code, out, errOut := runCLI("load", "-addr", srv.Addr, "testdata/clean")
	if code != 0 || !strings.Contains(out, "1 scripts loaded on "+srv.Addr) {
		t.Fatalf("load: exit %d, %q %q", code, out, errOut)
	}
	sha := strings.Fields(out)[2]
	found, err := srv.Client(t).ScriptExists(context.Background(), sha).Result()
	if err != nil || !found[0] {
		t.Fatalf("script %s not on the server: %v", sha, err)
	}
	srv.Stop()
	want := "redislua: load: cannot reach " + srv.Addr + ": connection refused\n"
	if code, _, errOut := runCLI("load", "-addr", srv.Addr, "-timeout", "2s", "testdata/clean"); code != 2 || errOut != want {
		t.Fatalf("load to a stopped server: exit %d, %q", code, errOut)
	}
}

func TestLoadCluster(t *testing.T) {
	cl := redistest.SharedCluster(t)
	code, out, errOut := runCLI("load", "-cluster", "-addr", cl.Addrs()[0], "testdata/clean")
	if code != 0 {
		t.Fatalf("load -cluster: exit %d, %q %q", code, out, errOut)
	}
	sha := strings.Fields(out)[2]
	for _, node := range cl.Nodes() {
		found, err := node.Client(t).ScriptExists(context.Background(), sha).Result()
		if err != nil || !found[0] {
			t.Errorf("script missing on %s: %v", node.Addr, err)
		}
	}
}

// An include cycle made lint and sha succeed with no output: its files
// were all libraries, so there was nothing to check.
func TestIncludeCycleFails(t *testing.T) {
	want := "testdata/cycle/b.lua:2:1: error[syntax] include cycle: a.lua -> b.lua -> a.lua\n"
	if code, out, errOut := runCLI("lint", "testdata/cycle"); code != 1 || out != want {
		t.Errorf("lint: exit %d, %q %q; want 1 and %q", code, out, errOut, want)
	}
	for _, cmd := range []string{"sha", "ls"} {
		if code, out, errOut := runCLI(cmd, "testdata/cycle"); code != 1 || out != "" || errOut != want {
			t.Errorf("%s: exit %d, %q %q; want 1 and %q on stderr", cmd, code, out, errOut, want)
		}
	}
}
