package hashslot

import "testing"

func FuzzOf(f *testing.F) {
	for _, seed := range []string{
		"", "{", "}", "}{", "{}", "{}a", "a{}", "{a}{b}", "{{a}}",
		"foo{bar}baz", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap",
		"foo{bar}{zap}", "a\x00{\x00}", "{ключ}:значение", "\xff{\xfe}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		got := Of(key)
		if got < 0 || got >= Count {
			t.Fatalf("Of(%q) = %d, want a slot in [0, %d)", key, got, Count)
		}
		if want := refKeyHashSlot([]byte(key)); got != want {
			t.Fatalf("Of(%q) = %d, want %d", key, got, want)
		}
		if got, want := CRC16(key), refCRC16([]byte(key)); got != want {
			t.Fatalf("CRC16(%q) = %#04x, want %#04x", key, got, want)
		}
	})
}
