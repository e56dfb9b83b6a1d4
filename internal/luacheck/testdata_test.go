package luacheck

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/findings/*.golden")

// cleanConfigs gives the header facts of the scripts in testdata/clean; a
// script missing here is checked with the zero Config.
var cleanConfigs = map[string]Config{
	"queue_move_to_active.lua": {DeclaredKeys: 8},
	"token_bucket.lua":         {DeclaredKeys: 1},
	"sliding_window.lua":       {DeclaredKeys: 1},
	"lock_acquire.lua":         {DeclaredKeys: 2},
	"lock_release.lua":         {DeclaredKeys: 1},
	"lock_refresh.lua":         {DeclaredKeys: 2},
	"cache_get_or_set.lua":     {DeclaredKeys: 2},
	"leaderboard.lua":          {DeclaredKeys: 2},
	"leaderboard_top.lua":      {DeclaredKeys: 2, NoWrites: true},
	"counter_hincrby.lua":      {DeclaredKeys: 1},
	"metrics_batch.lua":        {DeclaredKeys: 2},
	"fixed_window.lua":         {DeclaredKeys: 1},
	"dedupe_bitset.lua":        {DeclaredKeys: 1},
	"stream_claim.lua":         {DeclaredKeys: 2},
	"reentrant_lock.lua":       {DeclaredKeys: 1},
	"tag_batch.lua":            {DeclaredKeys: 3},
	"session_touch.lua":        {DeclaredKeys: 2},
}

// findingConfigs does the same for testdata/findings.
var findingConfigs = map[string]Config{
	"readonly.lua":   {DeclaredKeys: 1, NoWrites: true},
	"keys_index.lua": {DeclaredKeys: 2},
	"included.lua":   {Globals: []string{"helper"}},
}

func luaFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no scripts in testdata/%s", dir)
	}
	return files
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCleanScripts checks that realistic, correct scripts produce no
// findings: false positives must be rare.
func TestCleanScripts(t *testing.T) {
	for _, path := range luaFiles(t, "clean") {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			got, err := Check(readFile(t, path), cleanConfigs[name])
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			for _, f := range got {
				t.Errorf("%s:%s", name, f)
			}
		})
	}
}

// TestFindingsGolden checks scripts with bugs against their .golden files,
// one Finding.String() per line. Run with -update to rewrite them.
func TestFindingsGolden(t *testing.T) {
	for _, path := range luaFiles(t, "findings") {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			findings, err := Check(readFile(t, path), findingConfigs[name])
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			var b strings.Builder
			for _, f := range findings {
				b.WriteString(f.String())
				b.WriteByte('\n')
			}
			golden := strings.TrimSuffix(path, ".lua") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := readFile(t, golden); b.String() != want {
				t.Errorf("findings differ from %s\ngot:\n%s\nwant:\n%s", golden, b.String(), want)
			}
		})
	}
}
