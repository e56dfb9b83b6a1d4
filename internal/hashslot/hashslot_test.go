package hashslot

import "testing"

func TestCRC16CheckVector(t *testing.T) {
	if got, want := CRC16("123456789"), uint16(0x31C3); got != want {
		t.Errorf("CRC16(%q) = %#04x, want %#04x", "123456789", got, want)
	}
}

func TestCRC16MatchesReference(t *testing.T) {
	for b := range 256 {
		in := string([]byte{byte(b)})
		if got, want := CRC16(in), refCRC16([]byte(in)); got != want {
			t.Errorf("CRC16(%q) = %#04x, want %#04x", in, got, want)
		}
	}
	for _, in := range []string{"", "a", "foo", "123456789", "\x00\x00", "héllo wörld", "\xff\xfe\xfd"} {
		if got, want := CRC16(in), refCRC16([]byte(in)); got != want {
			t.Errorf("CRC16(%q) = %#04x, want %#04x", in, got, want)
		}
	}
}

// TestOfDocumentedSlots checks slots published in the Redis documentation.
func TestOfDocumentedSlots(t *testing.T) {
	for _, tt := range []struct {
		key  string
		want int
	}{
		{"foo", 12182},
		{"bar", 5061},
		{"hello", 866},
	} {
		if got := Of(tt.key); got != tt.want {
			t.Errorf("Of(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

// TestOfHashTags checks the hash-tag rule on its edge cases. Each case names
// the part of the key Redis hashes; Of must agree both with the CRC16 of that
// part and with the transcription of Redis's keyHashSlot.
func TestOfHashTags(t *testing.T) {
	for _, tt := range []struct {
		key    string
		hashed string // the bytes Redis hashes for key
	}{
		{"", ""},
		{"{", "{"},
		{"}", "}"},
		{"}{", "}{"},
		{"{}", "{}"},
		{"{}a", "{}a"},
		{"a{}", "a{}"},
		{"{a", "{a"},
		{"a}", "a}"},
		{"{a}", "a"},
		{"{a}{b}", "a"},
		{"{{a}}", "{a"},
		{"}{a}", "a"},
		{"{}}", "{}}"},
		{"foo{bar}baz", "bar"},
		{"{user1000}.following", "user1000"},
		{"{user1000}.followers", "user1000"},
		{"foo{}{bar}", "foo{}{bar}"},
		{"foo{{bar}}zap", "{bar"},
		{"foo{bar}{zap}", "bar"},
		{"\x00", "\x00"},
		{"a\x00b", "a\x00b"},
		{"\x00{\x00}\x00", "\x00"},
		{"{\x00\x00}rest", "\x00\x00"},
		{"\xff{\xfe}", "\xfe"},
		{"héllo", "héllo"},
		{"{ключ}:значение", "ключ"},
		{"用户{一千}.关注", "一千"},
		{"emoji{🔑}", "🔑"},
	} {
		want := int(refCRC16([]byte(tt.hashed)) & 0x3FFF)
		if ref := refKeyHashSlot([]byte(tt.key)); ref != want {
			t.Fatalf("test table is wrong: keyHashSlot(%q) = %d, but CRC16(%q) gives %d", tt.key, ref, tt.hashed, want)
		}
		if got := Of(tt.key); got != want {
			t.Errorf("Of(%q) = %d, want %d (CRC16 of %q)", tt.key, got, want, tt.hashed)
		}
	}
}

func TestOfSameTagSameSlot(t *testing.T) {
	want := Of("user1000")
	for _, key := range []string{"{user1000}.following", "{user1000}.followers", "x{user1000}y{z}"} {
		if got := Of(key); got != want {
			t.Errorf("Of(%q) = %d, want %d (slot of %q)", key, got, want, "user1000")
		}
	}
}

func TestOfDoesNotAllocate(t *testing.T) {
	key := "{user1000}.following"
	if n := testing.AllocsPerRun(100, func() { _ = Of(key) }); n != 0 {
		t.Errorf("Of allocates %v times per call, want 0", n)
	}
}
