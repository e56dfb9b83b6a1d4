package luacheck

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzCheck checks that Check never panics or fails internally, and that
// what it returns is well formed, whatever the input.
func FuzzCheck(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "*.lua"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b), 2, false)
		}
	}
	for _, s := range []string{
		"", "#!lua\n", "x = 1", "local f = function() return f() end",
		"redis.call('GET', KEYS[1] .. ARGV[1]) -- redislua:ignore",
		"for i, k in ipairs(KEYS) do redis.call('DEL', k, unpack(ARGV)) end",
		"local s = [==[\n]]\n]==] x = s", "goto x", "a.b:c'd'", "--[[", "'\\\n'",
		"return KEYS[-0x10], ARGV[1] ^ -ARGV[2]", "function a.b.c:d(...) return ... end",
	} {
		f.Add(s, 0, true)
	}
	f.Fuzz(func(t *testing.T, src string, keys int, noWrites bool) {
		cfg := Config{DeclaredKeys: keys, NoWrites: noWrites, Globals: []string{"helper"}}
		fs, err := Check(src, cfg)
		if errors.Is(err, ErrInternal) {
			t.Fatalf("Check(%q): %v", src, err)
		}
		var se *SyntaxError
		if errors.As(err, &se) && (se.Line < 1 || se.Col < 1 || se.Message == "") {
			t.Fatalf("Check(%q): malformed syntax error %+v", src, se)
		}
		if err != nil {
			if fs != nil {
				t.Fatalf("Check(%q) returned findings with an error", src)
			}
			return
		}
		for _, x := range fs {
			if x.Line < 1 || x.Col < 1 || severities[x.ID] != x.Severity ||
				x.Message == "" || strings.ContainsAny(x.Message, "\r\n") {
				t.Fatalf("Check(%q): malformed finding %+v", src, x)
			}
		}
		if !slices.IsSortedFunc(fs, func(a, b Finding) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			if a.Col != b.Col {
				return a.Col - b.Col
			}
			return strings.Compare(a.ID, b.ID)
		}) {
			t.Fatalf("Check(%q): findings not sorted: %v", src, fs)
		}
		again, _ := Check(src, cfg)
		if !slices.Equal(fs, again) {
			t.Fatalf("Check(%q) is not deterministic: %v then %v", src, fs, again)
		}
	})
}
