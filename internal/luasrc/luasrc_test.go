package luasrc

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseShebang(t *testing.T) {
	tests := []shebangCase{
		{"return 1", Shebang{}, ""},
		{"#!lua\nreturn 1", Shebang{Present: true}, ""},
		{"#!lua flags=no-writes,allow-stale\nreturn 1", Shebang{Present: true, Flags: []string{"no-writes", "allow-stale"}}, ""},
		{"#!lua  flags=no-writes,allow-stale \r\nreturn 1", Shebang{Present: true, Flags: []string{"no-writes", "allow-stale"}}, ""},
		{"#!lua flags=no-writes,no-writes\n", Shebang{Present: true, Flags: []string{"no-writes"}}, ""},
		{"#!lua flags=no-writes flags=allow-oom\n", Shebang{Present: true, Flags: []string{"no-writes", "allow-oom"}}, ""},
		{"#!lua flags=\nreturn 1", Shebang{Present: true}, ""},
		{"#!lua flags=bogus\n", Shebang{}, `unexpected flag in script shebang: "bogus"`},
		{"#!lua flags=no-writes,\n", Shebang{}, `unexpected flag in script shebang: ""`},
		{"#!lua name=x\n", Shebang{}, `unknown lua shebang option: "name=x"`},
		{"#!notlua\n", Shebang{}, `unexpected engine in script shebang: "#!notlua"`},
		{"#!\n", Shebang{}, `unexpected engine`},
		{" #!lua\n", Shebang{}, ""},
	}
	checkShebangs(t, tests)
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		src  string
		want Header
	}{
		{"-- @readonly\nreturn 1", Header{ReadOnly: true}},
		{"#!lua\n--- @readonly  reads only\nreturn 1", Header{ReadOnly: true}},
		{"-- Counts things.\n\n-- @readonly\nreturn 1", Header{Description: "Counts things.", ReadOnly: true}},
		{"return 1\n-- @readonly", Header{}},
		{"local x = '-- @readonly'", Header{}},
	}
	for _, tt := range tests {
		if got, err := ParseHeader(tt.src); err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseHeader(%q) = %+v, want %+v", tt.src, got, tt.want)
		}
	}
}

func FuzzParseShebang(f *testing.F) {
	for _, s := range []string{"#!lua flags=no-writes\n", "#!lua", "#!x", "return 1", "#!lua flags=a,b c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		sb, err := ParseShebang(src)
		if err != nil {
			return
		}
		if sb.Present != strings.HasPrefix(src, "#!") {
			t.Fatalf("Present = %v for %q", sb.Present, src)
		}
		for _, flag := range sb.Flags {
			if !knownFlags[flag] {
				t.Fatalf("unknown flag %q accepted", flag)
			}
		}
	})
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"return 1", "local x = {", "#!lua\nreturn", "return [[", "--[==["} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, _ = ParseHeader(src) // must not panic
		_, _ = Expand(nil, "f.lua", src, 1<<20)
		_, _, _ = IncludeTarget(src)
	})
}
