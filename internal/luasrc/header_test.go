package luasrc

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseHeaderDeclarations(t *testing.T) {
	src := `-- Moves an amount between two integer balances,
-- refusing to overdraw.
-- @key from     balance to debit
-- @key to       balance to credit
-- @arg amount   positive integer
-- @arg [id]     optional transfer ID,
--               kept for a day
-- @return the new balance of from
--
--   not a continuation: a blank comment line ends the directive
local x = 1
-- @key late   not in the header
`
	h, err := ParseHeader(src)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{
		Description: "Moves an amount between two integer balances, refusing to overdraw.",
		Keys:        []Param{{Name: "from", Description: "balance to debit"}, {Name: "to", Description: "balance to credit"}},
		Args:        []Param{{Name: "amount", Description: "positive integer"}, {Name: "id", Description: "optional transfer ID, kept for a day", Optional: true}},
		Return:      "the new balance of from",
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("got  %+v\nwant %+v", h, want)
	}
	if min, max := Range(h.Args); min != 1 || max != 2 {
		t.Errorf("Range(args) = %d, %d; want 1, 2", min, max)
	}
	if !h.Declared() {
		t.Error("Declared() = false")
	}
}

func TestRange(t *testing.T) {
	tests := []struct {
		params   []Param
		min, max int
	}{
		{nil, 0, 0},
		{[]Param{{Name: "a"}, {Name: "b"}}, 2, 2},
		{[]Param{{Name: "a"}, {Name: "rest", Variadic: true}}, 1, -1},
		{[]Param{{Name: "a"}, {Name: "b", Optional: true}}, 1, 2},
	}
	for _, tt := range tests {
		if min, max := Range(tt.params); min != tt.min || max != tt.max {
			t.Errorf("Range(%+v) = %d, %d; want %d, %d", tt.params, min, max, tt.min, tt.max)
		}
	}
}

func TestParseHeaderErrors(t *testing.T) {
	for src, want := range map[string]string{
		"-- @key\n":                             "missing name",
		"-- @key a\n-- @key a\n":                "declared twice",
		"-- @key a\n-- @key b\n-- @key [a]\n":   "a declared twice",
		"-- @arg a\n-- @arg [b]\n-- @arg [a]\n": "a declared twice",
		"-- @key a\n-- @arg a\n":                "", // a key and an argument may share a name
		"-- @arg [a]\n-- @arg [b]\n-- @arg c\n": "required c after optional [b]",
		"-- @arg [a] x\n-- @arg b\n":            "required b after optional",
		"-- @key ks... x\n-- @key k\n":          "after variadic",
		"-- @kee a\n":                           "unknown directive @kee",
		"-- @arg [a x\n":                        "unclosed",
		"#!lua\n-- text\n\n-- @bogus x\n":       "4: unknown directive",
		"-- @key keys...  any number\n":         "",
		"--[[ block ]]\n-- @bogus\nreturn":      "",
	} {
		_, err := ParseHeader(src)
		if want == "" {
			if err != nil {
				t.Errorf("ParseHeader(%q) = %v, want nil", src, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseHeader(%q) = %v, want error containing %q", src, err, want)
		}
	}
}

// A lone "\r" ends a line in Lua: "-- @key a\r-- @key b" declared one key
// named "a\r--".
func TestParseHeaderLineEndings(t *testing.T) {
	for _, eol := range []string{"\n", "\r", "\r\n", "\n\r"} {
		src := strings.Join([]string{"#!lua", "-- Adds.", "-- @key a", "-- @key b", "--   both keys", "-- @arg n", "return 1"}, eol)
		h, err := ParseHeader(src)
		want := Header{
			Description: "Adds.",
			Keys:        []Param{{Name: "a"}, {Name: "b", Description: "both keys"}},
			Args:        []Param{{Name: "n"}},
		}
		if err != nil || !reflect.DeepEqual(h, want) {
			t.Errorf("%q: ParseHeader = %+v, %v; want %+v", eol, h, err, want)
		}
		_, err = ParseHeader(strings.Join([]string{"-- a", "", "-- @bogus"}, eol))
		if err == nil || !strings.HasPrefix(err.Error(), "3: ") {
			t.Errorf("%q: error = %v, want it on line 3", eol, err)
		}
	}
}

// BenchmarkParseHeaderManyParams reads a header of 100,000 parameters, far
// more than MaxScriptSize holds: the duplicate and order checks once
// compared each parameter with all before it (11-22 s here).
func BenchmarkParseHeaderManyParams(b *testing.B) {
	var src strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&src, "-- @key k%d\n", i)
	}
	src.WriteString("return 1\n")
	b.ReportAllocs()
	for b.Loop() {
		h, err := ParseHeader(src.String())
		if err != nil || len(h.Keys) != 100_000 {
			b.Fatalf("ParseHeader = %d keys, %v", len(h.Keys), err)
		}
	}
}

func TestParseHeaderTypes(t *testing.T) {
	src := `-- Moves an amount.
-- @key from     balance to debit
-- @arg amount int64  positive integer
-- @arg rate float64
-- @arg [note] string  free text
-- @arg tags... string
-- @return json Balance  both balances
`
	h, err := ParseHeader(src)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{
		Description: "Moves an amount.",
		Keys:        []Param{{Name: "from", Description: "balance to debit"}},
		Args: []Param{
			{Name: "amount", Type: "int64", Description: "positive integer"},
			{Name: "rate", Type: "float64"},
			{Name: "note", Type: "string", Description: "free text", Optional: true},
			{Name: "tags", Type: "string", Variadic: true},
		},
		Return:       "both balances",
		ReturnType:   "json",
		ReturnGoType: "Balance",
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("got  %+v\nwant %+v", h, want)
	}
	for _, tt := range []struct{ line, typ, goType, desc string }{
		{"-- @return int64 the new balance", "int64", "", "the new balance"},
		{"-- @return []string", "[]string", "", ""},
		{"-- @return the new balance", "", "", "the new balance"},
		{"-- @return integers", "", "", "integers"},
	} {
		h, err := ParseHeader(tt.line + "\n")
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if h.ReturnType != tt.typ || h.ReturnGoType != tt.goType || h.Return != tt.desc {
			t.Errorf("%q: got %q %q %q, want %q %q %q", tt.line, h.ReturnType, h.ReturnGoType, h.Return, tt.typ, tt.goType, tt.desc)
		}
	}
	for _, bad := range []string{"-- @return json\n", "-- @arg ids []string\n", "-- @arg v json T\n"} {
		if _, err := ParseHeader(bad); err == nil {
			t.Errorf("ParseHeader(%q) = nil error", bad)
		}
	}
}
