package keyspace

import (
	"strings"
	"testing"

	"github.com/redislua/redislua/internal/hashslot"
)

// pairs are user keys that the old scheme ("{key}:suffix" without a tag,
// "key:suffix" with one) sent to the same derived key, plus keys whose
// hashed part cannot be put inside braces.
var pairs = [][2]string{
	{"a", "{a}"},
	{"{a}b", "{a}:b"},
	{"a:fence", "{a}"},
	{"{a}", "{a}:"},
	{"job", "{job}job"},
	{"{}x", "x"},
	{"{}", "{}{}"},
	{"a}b", "{a}b"},
	{"\x00\xff{", "\x00\xff{}"},
	{"{u1}:job", "{u1}:job:fence"},
	{"", "{}"},
}

func TestDeriveStaysInTheKeysSlot(t *testing.T) {
	keys := []string{"a", "{a}", "{a}b", "a}b", "}{", "{}x", "{}", "{", "}", "a{b", "a{b}c", "{{a}}", "\x00", "\xff\xfe{\x00}",
		"{user1}:cart", strings.Repeat("k", 1<<16), "héllo{wörld}"}
	for _, k := range keys {
		for _, d := range []string{Derive(k, "fence"), DeriveWith(k, "transfer", "id:1")} {
			if got, want := hashslot.Of(d), hashslot.Of(k); got != want {
				t.Errorf("Derive(%q) = %q in slot %d, want key's slot %d", trunc(k), trunc(d), got, want)
			}
			if !Reserved(d) {
				t.Errorf("Reserved(%q) = false for a derived name", trunc(d))
			}
		}
	}
}

func TestDeriveIsInjective(t *testing.T) {
	for _, p := range pairs {
		a, b := p[0], p[1]
		if Derive(a, "fence") == Derive(b, "fence") {
			t.Errorf("Derive(%q) == Derive(%q) = %q", a, b, Derive(a, "fence"))
		}
		if DeriveWith(a, "transfer", "x") == DeriveWith(b, "transfer", "x") {
			t.Errorf("DeriveWith(%q) == DeriveWith(%q)", a, b)
		}
	}
	// The same key under two kinds, and key/extra splits that would read
	// alike.
	if Derive("a", "fence") == Derive("a", "released") {
		t.Error("two kinds share a name")
	}
	for _, k := range [][2]string{{"{t}a", "{t}a:b"}, {"a{b", "a{b:c"}, {"a", "a:b"}} {
		if x, y := DeriveWith(k[0], "transfer", "b:c"), DeriveWith(k[1], "transfer", "c"); x == y {
			t.Errorf("key/extra split is ambiguous: %q", x)
		}
	}
}

func TestDeriveNames(t *testing.T) {
	tag := func(k string) string { return SlotTag(hashslot.Of(k)) }
	tests := []struct{ key, kind, want string }{
		{"job", "fence", "job{job}redislua:fence"},
		{"{job}", "fence", "{job}{}redislua:fence"},
		{"app:{u1}:job", "fence", "app:{u1}:job{}redislua:fence"},
		{"a}b", "fence", "a}b{" + tag("a}b") + "}redislua:fence"},
		{"a{b", "fence", "{" + tag("a{b") + "}redislua:fence:a{b"},
		{"{}x", "fence", "{" + tag("{}x") + "}redislua:fence:{}x"},
	}
	for _, tt := range tests {
		if got := Derive(tt.key, tt.kind); got != tt.want {
			t.Errorf("Derive(%q, %q) = %q, want %q", tt.key, tt.kind, got, tt.want)
		}
	}
	for _, tt := range []struct{ key, want string }{
		{"{b}:a", "{b}:a{}redislua:transfer:x:1"},
		{"a", "a{a}redislua:transfer:x:1"},
		{"a{b", "{" + tag("a{b") + "}redislua:transfer:3:a{b:x:1"},
	} {
		if got := DeriveWith(tt.key, "transfer", "x:1"); got != tt.want {
			t.Errorf("DeriveWith(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestReserved(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"x{x}redislua:fence", true},
		{"}redislua:", true},
		{"anything}redislua:x", true},
		{"{x}redislua", false},
		{"redislua:fence", false},
		{"{x}:redislua:fence", false},
		{"", false},
		{"{a}b", false},
	}
	for _, tt := range tests {
		if got := Reserved(tt.key); got != tt.want {
			t.Errorf("Reserved(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

// A derived name begins with its user key (so that ACL key patterns cover
// it) unless the key holds a '{' but no hash tag.
func TestDeriveKeepsTheKeysPrefix(t *testing.T) {
	for _, k := range []string{"app:job", "app:{u1}:job", "app:a}b", "app:\x00"} {
		if d := Derive(k, "fence"); !strings.HasPrefix(d, k) {
			t.Errorf("Derive(%q) = %q, does not begin with the key", k, d)
		}
	}
}

func TestSlotTagCoversEverySlot(t *testing.T) {
	for s := range hashslot.Count {
		tag := SlotTag(s)
		if tag == "" || len(tag) > 3 || strings.ContainsAny(tag, "{}") {
			t.Fatalf("SlotTag(%d) = %q", s, tag)
		}
		if got := hashslot.Of(tag); got != s {
			t.Fatalf("SlotTag(%d) = %q in slot %d", s, tag, got)
		}
	}
	// Stored names depend on these: they must never change.
	for s, want := range map[int]string{0: SlotTag(0), hashslot.Of("a"): "a", hashslot.Of("Z"): "Z"} {
		if got := SlotTag(s); got != want {
			t.Errorf("SlotTag(%d) = %q, want %q", s, got, want)
		}
	}
}

func FuzzDerive(f *testing.F) {
	for _, p := range pairs {
		f.Add(p[0], p[1], "x", "x")
		f.Add(p[0], p[1], "x:y", "y")
	}
	f.Fuzz(func(t *testing.T, a, b, extra, extraB string) {
		if a == "" || b == "" {
			return
		}
		if Reserved(a) || Reserved(b) {
			return // refused as user keys
		}
		da, db := Derive(a, "k"), Derive(b, "k")
		if hashslot.Of(da) != hashslot.Of(a) || !Reserved(da) {
			t.Fatalf("Derive(%q) = %q: wrong slot or not reserved", a, da)
		}
		if a != b && da == db {
			t.Fatalf("Derive(%q) == Derive(%q)", a, b)
		}
		wa := DeriveWith(a, "t", extra)
		if hashslot.Of(wa) != hashslot.Of(a) || !Reserved(wa) {
			t.Fatalf("DeriveWith(%q) = %q: wrong slot or not reserved", a, wa)
		}
		if (a != b || extra != extraB) && wa == DeriveWith(b, "t", extraB) {
			t.Fatalf("DeriveWith(%q, %q) == DeriveWith(%q, %q)", a, extra, b, extraB)
		}
		if wa == Derive(a, "t") || wa == Derive(b, "t") {
			t.Fatalf("DeriveWith(%q, %q) equals a plain derived name", a, extra)
		}
	})
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
