package luasrc

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseShebang(t *testing.T) {
	tests := []struct {
		src     string
		want    Shebang
		wantErr string
	}{
		{"return 1", Shebang{}, ""},
		{"#!lua\nreturn 1", Shebang{Present: true}, ""},
		{"#!lua flags=no-writes,allow-stale\nreturn 1", Shebang{Present: true, Flags: []string{"no-writes", "allow-stale"}}, ""},
		{"#!lua  flags=no-writes,allow-stale \r\nreturn 1", Shebang{Present: true, Flags: []string{"no-writes", "allow-stale"}}, ""},
		{"#!lua flags=no-writes,no-writes\n", Shebang{Present: true, Flags: []string{"no-writes"}}, ""},
		{"#!lua flags=no-writes flags=allow-oom", Shebang{Present: true, Flags: []string{"no-writes", "allow-oom"}}, ""},
		{"#!lua flags=\nreturn 1", Shebang{Present: true}, ""},
		{"#!lua flags=bogus\n", Shebang{}, `unexpected flag in script shebang: "bogus"`},
		{"#!lua flags=no-writes,\n", Shebang{}, `unexpected flag in script shebang: ""`},
		{"#!lua name=x\n", Shebang{}, `unknown lua shebang option: "name=x"`},
		{"#!notlua\n", Shebang{}, `unexpected engine in script shebang: "#!notlua"`},
		{"#!\n", Shebang{}, `unexpected engine`},
		{" #!lua\n", Shebang{}, ""},
	}
	for _, tt := range tests {
		got, err := ParseShebang(tt.src)
		if tt.wantErr != "" {
			var se *ShebangError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseShebang(%q) error = %v, want *ShebangError containing %q", tt.src, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseShebang(%q) = %+v, %v; want %+v", tt.src, got, err, tt.want)
		}
	}
}

func TestBlankShebangKeepsLineNumbers(t *testing.T) {
	for src, want := range map[string]string{
		"#!lua\nreturn 1": "\nreturn 1",
		"#!lua":           "",
		"return 1":        "return 1",
	} {
		if got := BlankShebang(src); got != want {
			t.Errorf("BlankShebang(%q) = %q, want %q", src, got, want)
		}
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		src  string
		want Header
	}{
		{"-- @readonly\nreturn 1", Header{ReadOnly: true}},
		{"#!lua\n--- @readonly  reads only\nreturn 1", Header{ReadOnly: true}},
		{"-- Counts things.\n\n-- @readonly\nreturn 1", Header{ReadOnly: true}},
		{"return 1\n-- @readonly", Header{}},
		{"-- @readonlyish\nreturn 1", Header{}},
		{"local x = '-- @readonly'", Header{}},
	}
	for _, tt := range tests {
		if got := ParseHeader(tt.src); got != tt.want {
			t.Errorf("ParseHeader(%q) = %+v, want %+v", tt.src, got, tt.want)
		}
	}
}

func TestParseReportsLineOfSyntaxError(t *testing.T) {
	tests := []struct {
		src      string
		wantLine int
	}{
		{"local a = 1\nlocal b = = 2\n", 2},
		{"#!lua flags=no-writes\nlocal a = 1\nreturn +\n", 3},
		{"return (", 1},
		{"local a = 1\nreturn a +\n\n", 2},
		// gopher-lua notices an unfinished string at the line break that ends it.
		{"local s = 'unterminated\nreturn s", 2},
	}
	for _, tt := range tests {
		_, err := Parse(tt.src)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error = %v, want *SyntaxError", tt.src, err)
			continue
		}
		if se.Line != tt.wantLine || se.Message == "" {
			t.Errorf("Parse(%q) = line %d %q, want line %d", tt.src, se.Line, se.Message, tt.wantLine)
		}
	}
}

func TestParseAcceptsValidScripts(t *testing.T) {
	for _, src := range []string{
		"return 1",
		"#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])",
		"local n = tonumber(ARGV[1])\nif n > 0 then return redis.call('INCRBY', KEYS[1], n) end\nreturn 0",
		"",
	} {
		if _, err := Parse(src); err != nil {
			t.Errorf("Parse(%q) = %v, want nil", src, err)
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
		if strings.Count(BlankShebang(src), "\n") != strings.Count(src, "\n") {
			t.Fatalf("BlankShebang changed the line count of %q", src)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"return 1", "local x = {", "#!lua\nreturn", "return [[", "--[==["} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, _ = Parse(src) // must not panic
		_ = ParseHeader(src)
	})
}
