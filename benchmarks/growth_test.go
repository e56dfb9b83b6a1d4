package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/redislua/redislua"
)

// padded returns the code of lua/incr.lua (its header comment left out,
// so that it fits in 100 bytes) grown to at least size bytes with comment
// lines before it: a script of that size whose work stays the same.
func padded(tb testing.TB, size int) *redislua.Script {
	tb.Helper()
	var src string
	for line := range strings.Lines(luaSource(tb, "incr")) {
		if !strings.HasPrefix(line, "--") {
			src += line
		}
	}
	const line = "-- padding: the bytes a larger script sends, without its work.\n"
	var b strings.Builder
	for b.Len()+len(src) < size {
		b.WriteString(line)
	}
	b.WriteString(src)
	s, err := redislua.NewScript("incr-"+strconv.Itoa(size), b.String())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchmarkScriptSize measures one call by script size (target 6), from
// one goroutine: Script.Run of a cached script (one EVALSHA, whose size
// does not depend on the script's) against a raw EVAL, which sends the
// source and has the server hash it every time.
func BenchmarkScriptSize(b *testing.B) {
	srv, c := standalone(b, 0)
	info := newClient(b, srv.Addr, 1)
	ctx := context.Background()
	keys := []string{"bench:size"}
	for _, size := range []int{100, 2 << 10, 16 << 10, 64 << 10} {
		s := padded(b, size)
		if err := s.Load(ctx, c); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("size=%dB/impl=redislua-run", size), func(b *testing.B) {
			b.ReportAllocs()
			m, n := startCPU(b, info), 0
			for b.Loop() {
				if err := s.Run(ctx, c, keys, 1).Err(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			m.report(b, n, 0)
		})
		b.Run(fmt.Sprintf("size=%dB/impl=raw-eval", size), func(b *testing.B) {
			b.ReportAllocs()
			src := s.Source()
			m, n := startCPU(b, info), 0
			for b.Loop() {
				if err := c.Eval(ctx, src, keys, 1).Err(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			m.report(b, n, 0)
		})
	}
}

// sameSlotKeys returns n keys that share one hash tag.
func sameSlotKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "{tenant42}:item:" + strconv.Itoa(i)
	}
	return keys
}

// BenchmarkKeysPerCall measures one call by number of keys (target 6), from
// one goroutine: Script.Run (whose registry has cluster checks, so every
// call checks that the keys share a slot) against a raw EVALSHA of the
// same script, lua/countkeys.lua, which does not touch its keys.
func BenchmarkKeysPerCall(b *testing.B) {
	srv, c := standalone(b, 0)
	info := newClient(b, srv.Addr, 1)
	ctx := context.Background()
	s := script("countkeys")
	if err := s.Load(ctx, c); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 10, 100, 1000} {
		keys := sameSlotKeys(n)
		b.Run(fmt.Sprintf("keys=%d/impl=raw-evalsha", n), func(b *testing.B) {
			b.ReportAllocs()
			m, n := startCPU(b, info), 0
			for b.Loop() {
				if err := c.EvalSha(ctx, s.SHA(), keys).Err(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			m.report(b, n, 0)
		})
		b.Run(fmt.Sprintf("keys=%d/impl=redislua-run", n), func(b *testing.B) {
			b.ReportAllocs()
			m, n := startCPU(b, info), 0
			for b.Loop() {
				if err := s.Run(ctx, c, keys).Err(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			m.report(b, n, 0)
		})
	}
}

// BenchmarkCheckSlots measures the slot check alone, by number of keys
// (pure CPU): a few ns per key, no allocation.
func BenchmarkCheckSlots(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		keys := sameSlotKeys(n)
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := redislua.CheckSlots(keys...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// manyScripts returns a file system of n distinct scripts of about 2 KiB:
// copies of lua/quota.lua, each with its own first line.
func manyScripts(tb testing.TB, n int) fstest.MapFS {
	tb.Helper()
	src := luaSource(tb, "quota")
	fsys := fstest.MapFS{}
	for i := range n {
		fsys[fmt.Sprintf("lua/s%04d.lua", i)] = &fstest.MapFile{Data: fmt.Appendf(nil, "-- Copy %d.\n%s", i, src)}
	}
	return fsys
}

// BenchmarkNewRegistry measures building a registry by number of 2 KiB
// scripts (target 6): reading, headers, static checks and SHA1 of each.
// B/op counts everything allocated while building; retained-B is what
// the built registry keeps alive (heap in use after a GC, with the
// registry reachable, less before).
func BenchmarkNewRegistry(b *testing.B) {
	for _, n := range []int{100, 1000} {
		fsys := manyScripts(b, n)
		b.Run("scripts="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			var reg *redislua.Registry
			for b.Loop() {
				var err error
				if reg, err = redislua.NewRegistry(fsys, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reg = nil
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			reg, err := redislua.NewRegistry(fsys, nil)
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			if len(reg.Scripts()) != n {
				b.Fatalf("registry holds %d scripts, want %d", len(reg.Scripts()), n)
			}
			runtime.KeepAlive(reg)
			b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "retained-B")
		})
	}
}

func TestGrowthFixtures(t *testing.T) {
	for _, size := range []int{100, 64 << 10} {
		if got := len(padded(t, size).Source()); got < size || got > size+100 {
			t.Errorf("padded(%d) is %d bytes", size, got)
		}
	}
	_, c := standalone(t, 0)
	if got, err := script("countkeys").Run(context.Background(), c, sameSlotKeys(1000)).Int(); err != nil || got != 1000 {
		t.Errorf("countkeys with 1000 keys = %d, %v; want 1000", got, err)
	}
	reg, err := redislua.NewRegistry(manyScripts(t, 10), nil)
	if err != nil || len(reg.Scripts()) != 10 {
		t.Fatalf("registry of 10 copies: %v, %v", reg, err)
	}
}
