package luasrc

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// shebangCase is a source, the Shebang it declares, and the error
// ParseShebang must give instead ("" for none).
type shebangCase struct {
	src     string
	want    Shebang
	wantErr string
}

// checkShebangs checks ParseShebang against each case.
func checkShebangs(t *testing.T, tests []shebangCase) {
	t.Helper()
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

// TestParseShebangAsRedis checks first lines whose fate on Redis 7.0.15 was
// seen with EVAL: the ones it runs parse, the ones it refuses fail.
func TestParseShebangAsRedis(t *testing.T) {
	noWrites := Shebang{Present: true, Flags: []string{"no-writes"}}
	tests := []shebangCase{ // wantErr "" when Redis runs the script
		{"#!lua", Shebang{}, "must end with a line break"},
		{"#!lua flags=no-writes", Shebang{}, "must end with a line break"},
		{"#!lua\x00\nreturn 1", Shebang{}, "must end with a line break"},
		{"#!lua \"flags=no-writes\"\nreturn 1", noWrites, ""},
		{"#!lua 'flags=no-writes'\nreturn 1", noWrites, ""},
		{"#!lua flags=\"no-writes\"\nreturn 1", noWrites, ""},
		{"#!lua \"flags=no\\x2dwrites\"\nreturn 1", noWrites, ""},
		{"#!lua \"flags=no-writes\"x\nreturn 1", Shebang{}, "invalid engine"},
		{"#!lua \"flags=no-writes\nreturn 1", Shebang{}, "invalid engine"},
		{"#!lua flags=no-writes\r\nreturn 1", noWrites, ""},
		{"#!lua\rreturn 1\nreturn 2", Shebang{}, `unknown lua shebang option: "return"`},
		{"#!lua\treturn\nreturn 1", Shebang{}, `unknown lua shebang option: "return"`},
		{"#!lua\vflags=no-writes\nreturn 1", Shebang{}, "unexpected engine"},
		{"#! lua\nreturn 1", Shebang{}, `unexpected engine in script shebang: "#!"`},
		{"#!lua flags=no-writes,\nreturn 1", Shebang{}, `unexpected flag in script shebang: ""`},
	}
	checkShebangs(t, tests)
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		line string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{"  a  b\t c ", []string{"a", "b", "c"}, true},
		{`a"b c"d`, nil, false},
		{`a"b c" d`, []string{"ab c", "d"}, true},
		{`"\n\x41\q"`, []string{"\nAq"}, true},
		{`'it\'s' "x\"y"`, []string{"it's", `x"y`}, true},
		{`'open`, nil, false},
		{"a\x00b c", []string{"a"}, true},
	}
	for _, tt := range tests {
		got, ok := splitArgs(tt.line)
		if ok != tt.ok || ok && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitArgs(%q) = %q, %v; want %q, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}
