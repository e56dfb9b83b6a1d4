package luacheck

import (
	"os"
	"testing"
)

func BenchmarkCheck(b *testing.B) {
	for _, name := range []string{"lock_release.lua", "token_bucket.lua", "queue_move_to_active.lua"} {
		src, err := os.ReadFile("testdata/clean/" + name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := Check(string(src), Config{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
