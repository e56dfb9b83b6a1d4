package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/redislua/redislua/internal/redistest"
)

// cliArgsEnv makes the test binary run the command line instead of the
// tests: TestMain splits its value at unit separators (0x1f).
const cliArgsEnv = "REDISLUA_CLI_ARGS"

// runProcess runs the command line in a process of its own, so output
// written to the real stderr (go-redis's log) is seen too.
func runProcess(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), cliArgsEnv+"="+strings.Join(args, "\x1f"))
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"lint", "testdata/clean"}, 0},
		{[]string{"lint", "testdata/warn"}, 0},
		{[]string{"lint", "-strict", "testdata/warn"}, 1},
		{[]string{"lint", "testdata/bad"}, 1},
		{[]string{"lint", "testdata/missing"}, 2},
		{[]string{"lint", "testdata/missing.lua"}, 2},
		{[]string{"lint", "testdata/bad", "testdata/missing"}, 2},
		{[]string{"lint", "main.go"}, 2},
		{[]string{"lint", "-nosuchflag", "testdata/clean"}, 2},
		{[]string{"lint", "-format", "xml", "testdata/clean"}, 2},
		{[]string{"lint"}, 2},
		{[]string{"sha", "testdata/missing"}, 2},
		{[]string{"sha", "testdata/bad"}, 1},
		{[]string{"ls", "-x", "testdata/clean"}, 2},
		{[]string{"load", "-addr"}, 2},
		{[]string{"version", "extra"}, 2},
	} {
		if code, out, errOut := runCLI(tt.args...); code != tt.want {
			t.Errorf("%v: exit %d, want %d\n%s%s", tt.args, code, tt.want, out, errOut)
		}
	}
}

// A file is linted alone, named as given, with its includes read from
// around it.
func TestLintFile(t *testing.T) {
	for _, tt := range []struct {
		path, want string
		code       int
	}{
		{"testdata/clean/charge.lua", "", 0}, // includes lib/check
		{"testdata/bad/counter.lua", "testdata/bad/counter.lua:2:1: error[global-write] ", 1},
		{"./testdata/bad/counter.lua", "./testdata/bad/counter.lua:2:1: error[global-write] ", 1},
	} {
		code, out, errOut := runCLI("lint", tt.path)
		if code != tt.code || !strings.HasPrefix(out, tt.want) || (tt.want == "") != (out == "") {
			t.Errorf("lint %s: exit %d, %q %q; want %d and %q", tt.path, code, out, errOut, tt.code, tt.want)
		}
	}
	// Named as "sha testdata" names it.
	if code, out, _ := runCLI("sha", "testdata/clean/charge.lua"); code != 0 || !strings.HasPrefix(out, "clean/charge ") {
		t.Errorf("sha of a file: exit %d, %q; want the name clean/charge", code, out)
	}
	abs, err := filepath.Abs("testdata/clean/charge.lua")
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI("sha", abs); code != 0 || !strings.HasPrefix(out, "charge ") {
		t.Errorf("sha of an absolute path: exit %d, %q; want the name charge", code, out)
	}
}

// Flags after the paths mean what they mean before them.
func TestFlagsInAnyPosition(t *testing.T) {
	for _, args := range [][]string{
		{"lint", "-strict", "testdata/warn"},
		{"lint", "testdata/warn", "-strict"},
		{"lint", "testdata/clean", "-strict", "testdata/warn"},
	} {
		if code, out, _ := runCLI(args...); code != 1 || !strings.Contains(out, "warning[key-not-from-KEYS]") {
			t.Errorf("%v: exit %d, %q; want the warning and 1", args, code, out)
		}
	}
	if code, out, errOut := runCLI("lint", "--", "-strict"); code != 2 || out != "" || !strings.Contains(errOut, "-strict: no such file") {
		t.Errorf("lint -- -strict: exit %d, %q %q; want -strict read as a path", code, out, errOut)
	}
	srv := redistest.Start(t)
	for _, args := range [][]string{
		{"load", "-addr", srv.Addr, "testdata/clean"},
		{"load", "testdata/clean", "-addr", srv.Addr},
	} {
		if code, out, errOut := runCLI(args...); code != 0 || !strings.Contains(out, "loaded on "+srv.Addr) {
			t.Errorf("%v: exit %d, %q %q", args, code, out, errOut)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, tt := range []struct {
		cmd   string
		flags []string
	}{
		{"lint", []string{"-strict", "-ignore", "-format"}},
		{"sha", nil},
		{"ls", nil},
		{"load", []string{"-addr", "-cluster", "-timeout"}},
		{"version", nil},
	} {
		for _, args := range [][]string{{tt.cmd, "-h"}, {tt.cmd, "--help"}, {"help", tt.cmd}, {tt.cmd, "testdata/clean", "-h"}} {
			code, out, errOut := runCLI(args...)
			if code != 0 || errOut != "" || !strings.HasPrefix(out, "usage: redislua "+tt.cmd) || !strings.Contains(out, "exit status:") {
				t.Errorf("%v: exit %d, %q %q; want 0 and the help on stdout", args, code, out, errOut)
			}
			for _, f := range tt.flags {
				if !strings.Contains(out, "  "+f+" ") && !strings.Contains(out, "  "+f+"\n") {
					t.Errorf("%v: help lacks the flag %s:\n%s", args, f, out)
				}
			}
		}
	}
	code, out, _ := runCLI("-h")
	for _, cmd := range []string{"lint", "sha", "ls", "load", "version", "exit status:"} {
		if code != 0 || !strings.Contains(out, cmd) {
			t.Errorf("-h: exit %d, lacks %q:\n%s", code, cmd, out)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, errOut := runCLI("version")
	if code != 0 || !regexp.MustCompile(`^redislua (\(devel\)|v\S+)\n$`).MatchString(out) {
		t.Errorf("version: exit %d, %q %q", code, out, errOut)
	}
}

func TestLintJSON(t *testing.T) {
	code, out, _ := runCLI("lint", "-format", "json", "testdata/warn", "testdata/bad")
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 1 || len(got) != 2 {
		t.Fatalf("exit %d, %v, %d findings:\n%s", code, err, len(got), out)
	}
	want := map[string]any{"file": "testdata/warn/log.lua", "line": 3.0, "column": 27.0, "severity": "warning", "id": "key-not-from-KEYS"}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("%s = %v, want %v", k, got[0][k], v)
		}
	}
	if got[1]["severity"] != "error" || got[1]["id"] != "global-write" || got[1]["message"] == "" {
		t.Errorf("second finding %v", got[1])
	}
	if code, out, _ := runCLI("lint", "-format", "json", "testdata/clean"); code != 0 || out != "[]\n" {
		t.Errorf("clean: exit %d, %q; want []", code, out)
	}
}

// The SARIF log has what code-scanning UIs read: version 2.1.0, a tool
// with a name, a version and rules, and results whose ruleId and
// ruleIndex name a rule, with a level, a message and a physical location.
func TestLintSARIF(t *testing.T) {
	code, out, _ := runCLI("lint", "-format", "sarif", "testdata/warn", "testdata/bad", "testdata/cycle")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name, Version string
					Rules         []struct {
						ID               string
						ShortDescription struct{ Text string }
					}
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine, StartColumn int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-2.1.0") || len(log.Runs) != 1 {
		t.Fatalf("version %q, schema %q, %d runs", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	d := run.Tool.Driver
	if d.Name != "redislua" || d.Version == "" {
		t.Errorf("driver %q %q", d.Name, d.Version)
	}
	var ids []string
	for _, r := range d.Rules {
		ids = append(ids, r.ID)
		if r.ShortDescription.Text == "" {
			t.Errorf("rule %s has no description", r.ID)
		}
	}
	if want := []string{"global-write", "key-not-from-KEYS", "syntax"}; !slices.Equal(ids, want) {
		t.Errorf("rules %v, want %v", ids, want)
	}
	if len(run.Results) != 3 {
		t.Fatalf("%d results, want 3", len(run.Results))
	}
	for _, r := range run.Results {
		if r.RuleIndex < 0 || r.RuleIndex >= len(ids) || ids[r.RuleIndex] != r.RuleID {
			t.Errorf("result %s has ruleIndex %d", r.RuleID, r.RuleIndex)
		}
		if (r.Level != "error" && r.Level != "warning") || r.Message.Text == "" || len(r.Locations) != 1 {
			t.Errorf("result %+v", r)
			continue
		}
		loc := r.Locations[0].PhysicalLocation
		if !strings.HasPrefix(loc.ArtifactLocation.URI, "testdata/") || loc.Region.StartLine < 1 || loc.Region.StartColumn < 1 {
			t.Errorf("location %+v", loc)
		}
	}
	_, out, _ = runCLI("lint", "-format", "sarif", "testdata/clean")
	if !strings.Contains(out, `"results": []`) {
		t.Errorf("clean: results are not an empty array:\n%s", out)
	}
}

// load against a server that is down prints one line, with no go-redis
// log and no doubled prefix, and exits 2; so does load -cluster.
func TestLoadUnreachable(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	for _, args := range [][]string{
		{"load", "-addr", srv.Addr, "testdata/clean"},
		{"load", "-cluster", "-addr", srv.Addr, "testdata/clean"},
	} {
		code, out, errOut := runProcess(t, args...)
		want := "redislua: load: cannot reach " + srv.Addr + ": connection refused\n"
		if code != 2 || out != "" || errOut != want {
			t.Errorf("%v: exit %d, %q %q; want 2 and %q", args, code, out, errOut, want)
		}
	}
}
