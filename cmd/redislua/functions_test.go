package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redislua/redislua/internal/redistest"
)

const demoLibrary = "#!lua name=cli_demo\n" +
	"redis.register_function('cli_demo_a', function(keys, args) return 1 end)\n" +
	"redis.register_function{function_name='cli_demo_b', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}\n"

func libraryDir(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo.lua"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFunctionLibraries(t *testing.T) {
	dir := libraryDir(t, demoLibrary)
	code, out, errOut := runCLI("ls", dir)
	want := "library cli_demo (demo.lua)\n  function cli_demo_a\n  function cli_demo_b [no-writes]\n"
	if code != 0 || out != want {
		t.Errorf("ls: code %d, out %q, stderr %q; want %q", code, out, errOut, want)
	}
	if code, out, _ := runCLI("lint", "-strict", dir); code != 0 || out != "" {
		t.Errorf("lint of a clean library: code %d, out %q", code, out)
	}
	bad := libraryDir(t, "#!lua name=cli_bad\nredis.register_function('f', function(keys, args) return KEYS[1] end)\n")
	if code, out, _ := runCLI("lint", bad); code != 1 || !strings.Contains(out, "demo.lua:2:") || !strings.Contains(out, "KEYS is not a global") {
		t.Errorf("lint of a bad library: code %d, out %q", code, out)
	}
	srv := redistest.Start(t)
	for range 2 { // the second load finds the same code
		code, out, errOut := runCLI("load", "-addr", srv.Addr, dir)
		if code != 0 || !strings.Contains(out, "loaded function library cli_demo (2 functions)") {
			t.Errorf("load: code %d, out %q, stderr %q", code, out, errOut)
		}
	}
	other := libraryDir(t, strings.Replace(demoLibrary, "return 1", "return 2", 1))
	code, _, errOut = runCLI("load", "-addr", srv.Addr, other)
	want = "redislua: load: " + other + ": function library cli_demo has other code on " + srv.Addr
	if code != 1 || !strings.HasPrefix(errOut, want) || strings.Count(errOut, "redislua:") != 1 {
		t.Errorf("load of other code: code %d, stderr %q; want 1 and one line starting %q", code, errOut, want)
	}
}
