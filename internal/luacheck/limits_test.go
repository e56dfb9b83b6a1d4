package luacheck

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestLua51Limits checks what Lua 5.1, as Redis 7.0 compiles it, refuses
// and gopher-lua accepts. Each edge was checked with SCRIPT LOAD on Redis
// 7.0.15; lint_agree_test.go in the root package checks them on a server.
func TestLua51Limits(t *testing.T) {
	r := strings.Repeat
	locals := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "local v%d = %d\n", i, i)
		}
		return b.String()
	}
	upvalues := func(n int) string {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("v%d", i)
		}
		return locals(n) + "local function f() return " + strings.Join(names, " + ") + " end\nreturn f()"
	}
	tests := []struct {
		src     string
		wantErr string // "" when Redis compiles it
	}{
		{"return " + r("(", 198) + "1" + r(")", 198), ""},
		{"return " + r("(", 199) + "1" + r(")", 199), "too many syntax levels"},
		{"local a = 'x' return a" + r(" .. a", 199), "too many syntax levels"},
		{"return 1" + r(" + 1", 10000), ""},
		{locals(200) + "return 1", ""},
		{locals(201) + "return 1", "main function has more than 200 local variables"},
		{locals(197) + "for i = 1, 2 do end return 1", "more than 200 local variables"},
		{"local function f(...)\n" + locals(200) + "end", "function at line 1 has more than 200 local variables"},
		{upvalues(60), ""},
		{upvalues(61), "has more than 60 upvalues"},
		{"local function f() return ... end", "cannot use '...' outside a vararg function"},
		{"local a = tostring\n(1)", "ambiguous syntax"},
		{"local a = tostring;\n(tostring)(1)", ""},
		{"local function f(...) return arg end", ""},
		{`return "\300"`, "escape sequence too large"},
		{`return "\255\0010"`, ""},
		{"return 0x1p4 + 0XAP1", ""},
		{"local x = 0 if x == 0then end", "malformed number near '0then'"},
		{"return 1e", "malformed number"},
		{"return {1,,2}", "unexpected symbol near ','"},
		{"local a = 1;;", "unexpected symbol near ';'"},
		{"if true then break end", "no loop to break"},
		{"while true do break end", ""},
	}
	for _, tt := range tests {
		_, err := Check(tt.src, Config{})
		var se *SyntaxError
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("Check(%.60q) = %v, want no error", tt.src, err)
		case tt.wantErr != "" && (!errors.As(err, &se) || !strings.Contains(se.Message, tt.wantErr)):
			t.Errorf("Check(%.60q) = %v, want a syntax error containing %q", tt.src, err, tt.wantErr)
		}
	}
}
