package redislua

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// BenchmarkRun compares Script.Run with a cached script against the raw
// go-redis EvalSha it wraps, on a real redis-server: the difference is the
// library's own per-call cost (time and allocations).
func BenchmarkRun(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	b.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	s := MustNewScript("incr", incrSrc)
	if err := s.Load(ctx, rdb); err != nil {
		b.Fatal(err)
	}
	keys := []string{"bench"}
	b.Run("raw-evalsha", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := rdb.EvalSha(ctx, s.SHA(), keys, 1).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("script-run", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.Run(ctx, rdb, keys, 1).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkCheckSlots measures the slot check Run makes on a cluster, by
// number of keys: it must stay a few ns per key with no allocation.
func BenchmarkCheckSlots(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = "{tenant42}:item:" + strconv.Itoa(i)
		}
		b.Run(strconv.Itoa(n)+"-keys", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := CheckSlots(keys...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// script2KiB returns a script of about 2 KiB that increments its key.
func script2KiB(b *testing.B) *Script {
	src := "-- A 2 KiB script: the padding stands for real logic.\n"
	for len(src) < 2048 {
		src += "-- padding padding padding padding padding padding padding padding\n"
	}
	s, err := NewScript("big", src+"return redis.call('INCRBY', KEYS[1], ARGV[1])\n")
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkPipeline runs 100-call pipelines of a 2 KiB script from 8
// goroutines: plain EVAL (Run without the hook), Run with
// OptimizePipelines, the same with the script cache flushed before every
// pipeline, and the ideal of raw EVALSHA on a preloaded cache.
func BenchmarkPipeline(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	s := script2KiB(b)
	keys := []string{"pipe"}
	newClient := func(optimize bool) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 16})
		b.Cleanup(func() { _ = c.Close() })
		if optimize {
			if err := OptimizePipelines(c); err != nil {
				b.Fatal(err)
			}
		}
		return c
	}
	plain, optimized := newClient(false), newClient(true)
	run := func(b *testing.B, c *redis.Client, flush bool, queue func(redis.Pipeliner)) {
		b.ReportAllocs()
		b.SetParallelism(4) // 8 goroutines on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if flush {
					c.ScriptFlush(ctx)
				}
				pipe := c.Pipeline()
				for i := 0; i < 100; i++ {
					queue(pipe)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("plain-eval", func(b *testing.B) {
		run(b, plain, false, func(p redis.Pipeliner) { s.Run(ctx, p, keys, 1) })
	})
	b.Run("optimized", func(b *testing.B) {
		run(b, optimized, false, func(p redis.Pipeliner) { s.Run(ctx, p, keys, 1) })
	})
	b.Run("optimized-flush-each", func(b *testing.B) {
		run(b, optimized, true, func(p redis.Pipeliner) { s.Run(ctx, p, keys, 1) })
	})
	b.Run("ideal-evalsha-preloaded", func(b *testing.B) {
		if err := s.Load(ctx, plain); err != nil {
			b.Fatal(err)
		}
		run(b, plain, false, func(p redis.Pipeliner) { p.EvalSha(ctx, s.SHA(), keys, 1) })
	})
}

// BenchmarkNewRegistry builds a registry of 1,000 scripts of about 2 KiB:
// reading, @include expansion, static checks and hashing, per build.
func BenchmarkNewRegistry(b *testing.B) {
	fsys := fstest.MapFS{}
	for i := 0; i < 1000; i++ {
		var src strings.Builder
		fmt.Fprintf(&src, "-- Script %d.\n-- @key counter\n-- @arg amount\n", i)
		for src.Len() < 2000 {
			src.WriteString("local v = tonumber(redis.call('GET', KEYS[1]) or '0')\nif v > 100 then redis.call('SET', KEYS[1], 0) end\n")
		}
		src.WriteString("return redis.call('INCRBY', KEYS[1], ARGV[1])\n")
		fsys[fmt.Sprintf("lua/s%04d.lua", i)] = &fstest.MapFile{Data: []byte(src.String())}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewRegistry(fsys, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScriptSize runs scripts of growing size with EVAL (the source
// every call) and EVALSHA (cached), on a real server.
func BenchmarkScriptSize(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	b.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	for _, size := range []int{100, 2 << 10, 16 << 10, 64 << 10} {
		src := "return redis.call('INCR', KEYS[1])\n"
		for len(src) < size {
			src = "-- padding padding padding padding padding padding padding padding\n" + src
		}
		s, err := NewScript("size", src)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Load(ctx, rdb); err != nil {
			b.Fatal(err)
		}
		keys := []string{"size"}
		b.Run(fmt.Sprintf("%dB/evalsha", size), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Run(ctx, rdb, keys).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%dB/eval", size), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := rdb.Eval(ctx, s.Source(), keys).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
