package luasrc

import (
	"strings"
	"testing"
)

func TestSplitLinesCountsAsLua(t *testing.T) {
	for src, want := range map[string][]string{
		"":              {""},
		"a":             {"a"},
		"a\n":           {"a|\n", ""},
		"a\rb\rc":       {"a|\r", "b|\r", "c"},
		"a\r\nb":        {"a|\r\n", "b"},
		"a\n\rb":        {"a|\n\r", "b"},
		"a\n\nb":        {"a|\n", "|\n", "b"},
		"a\r\rb":        {"a|\r", "|\r", "b"},
		"a\r\n\r\nb":    {"a|\r\n", "|\r\n", "b"},
		"a\n\r\nb":      {"a|\n\r", "|\n", "b"}, // "\n\r" then "\n", as llex.c reads it
		"\r\n\n\r\r\n":  {"|\r\n", "|\n\r", "|\r\n", ""},
		"x = 1\r\n\r\n": {"x = 1|\r\n", "|\r\n", ""},
	} {
		var got []string
		var back strings.Builder
		for _, l := range splitLines(src) {
			s := l.text
			if l.end != "" {
				s += "|" + l.end
			}
			got = append(got, s)
			back.WriteString(l.text + l.end)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("splitLines(%q) = %q, want %q", src, got, want)
		}
		if back.String() != src {
			t.Errorf("splitLines(%q) joins back to %q", src, back.String())
		}
	}
}

func FuzzSplitLines(f *testing.F) {
	for _, s := range []string{"", "a\r\nb", "\n\r\r\n", "x\ry\nz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		lines := splitLines(src)
		var back strings.Builder
		for i, l := range lines {
			if strings.ContainsAny(l.text, "\r\n") || (l.end == "") != (i == len(lines)-1) {
				t.Fatalf("splitLines(%q)[%d] = %q", src, i, l)
			}
			back.WriteString(l.text + l.end)
		}
		if back.String() != src || len(lines) != countBreaks(src)+1 {
			t.Fatalf("splitLines(%q) = %q", src, lines)
		}
	})
}
