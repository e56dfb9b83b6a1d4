package hashslot

import (
	"strings"
	"testing"
)

var sinkSlot int

func BenchmarkOf(b *testing.B) {
	for _, bm := range []struct {
		name string
		key  string
	}{
		{"16B", "user:1000:follow"},
		{"16B-tag", "{user1000}.follo"},
		{"1KiB", strings.Repeat("k", 1024)},
		{"1KiB-tag", "{user1000}" + strings.Repeat("k", 1024-len("{user1000}"))},
	} {
		if len(bm.key) != 16 && len(bm.key) != 1024 {
			b.Fatalf("%s: key is %d bytes", bm.name, len(bm.key))
		}
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.key)))
			for b.Loop() {
				sinkSlot = Of(bm.key)
			}
		})
	}
}
