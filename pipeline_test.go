package redislua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// countNames counts the commands of cmds by their (possibly rewritten)
// name.
func countNames(cmds []*redis.Cmd) map[string]int {
	n := map[string]int{}
	for _, c := range cmds {
		n[fmt.Sprint(c.Args()[0])]++
	}
	return n
}

func TestOptimizePipelinesSendsTheSourceOncePerPipeline(t *testing.T) {
	for _, tx := range []bool{false, true} {
		t.Run(fmt.Sprintf("tx=%v", tx), func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				ctx := context.Background()
				if err := OptimizePipelines(b.client); err != nil {
					t.Fatal(err)
				}
				incr := MustNewScript("incr", incrSrc)
				get := MustNewScript("get", "-- @readonly\nreturn redis.call('GET', KEYS[1])")
				for round := 1; round <= 3; round++ {
					b.client.ScriptFlush(ctx) // before every pipeline
					var pipe redis.Pipeliner = b.client.Pipeline()
					if tx {
						pipe = b.client.TxPipeline()
					}
					var incrs, gets []*redis.Cmd
					for i := 0; i < 100; i++ {
						incrs = append(incrs, incr.Run(ctx, pipe, []string{"p"}, 1))
						gets = append(gets, get.Run(ctx, pipe, []string{"p"}))
					}
					if _, err := pipe.Exec(ctx); err != nil {
						t.Fatalf("round %d: Exec: %v", round, err)
					}
					for i := range incrs {
						want := int64((round-1)*100 + i + 1)
						if got, err := incrs[i].Int64(); err != nil || got != want {
							t.Fatalf("round %d call %d = %d, %v; want %d", round, i, got, err, want)
						}
						if got, err := gets[i].Int64(); err != nil || got != want {
							t.Fatalf("round %d get %d = %d, %v; want %d", round, i, got, err, want)
						}
					}
					if got := fmt.Sprint(countNames(incrs)); got != "map[eval:1 evalsha:99]" {
						t.Fatalf("incr commands %s, want one eval and 99 evalsha", got)
					}
					if got := fmt.Sprint(countNames(gets)); got != "map[eval_ro:1 evalsha_ro:99]" {
						t.Fatalf("get commands %s, want one eval_ro and 99 evalsha_ro", got)
					}
				}
				if b.real {
					stats := b.client.Info(ctx, "commandstats").Val()
					for _, want := range []string{"cmdstat_eval:calls=3,", "cmdstat_evalsha:calls=297,"} {
						if !strings.Contains(stats, want) {
							t.Errorf("server commandstats lack %q", want)
						}
					}
				}
			})
		})
	}
}

// With the hook, errors of queued script commands are already mapped after
// Exec, including those of rewritten EVALSHA commands.
func TestOptimizePipelinesMapsErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		if err := OptimizePipelines(b.client); err != nil {
			t.Fatal(err)
		}
		s := MustNewScript("check", "local n = tonumber(ARGV[1])\nif n < 0 then error('negative') end\nreturn n")
		pipe := b.client.Pipeline()
		ok := s.Run(ctx, pipe, nil, 1)
		bad := s.Run(ctx, pipe, nil, -1)
		_, _ = pipe.Exec(ctx)
		if ok.Err() != nil {
			t.Fatal(ok.Err())
		}
		var se *ScriptError
		if !errors.As(bad.Err(), &se) || se.Line != 2 || se.Message != "negative" || bad.Args()[0] != "evalsha" {
			t.Fatalf("second call: %v (%v), want a mapped error on line 2 from a rewritten EVALSHA", bad.Err(), bad.Args()[0])
		}
	})
}

func TestOptimizePipelinesRejectsNil(t *testing.T) {
	if err := OptimizePipelines(nil); !errors.Is(err, ErrNilClient) {
		t.Fatalf("nil: %v", err)
	}
	if err := OptimizePipelines((*redis.Client)(nil)); !errors.Is(err, ErrNilClient) {
		t.Fatalf("typed nil: %v", err)
	}
}

// On a cluster, go-redis splits a pipeline by node: the source goes once
// per slot, and a flush on every node before the pipeline costs nothing.
func TestOptimizePipelinesOnCluster(t *testing.T) {
	cc := sharedCluster(t)
	ctx := context.Background()
	if err := OptimizePipelines(cc); err != nil {
		t.Fatal(err)
	}
	s := uniqueRegistry(t, 1).MustScript("s0")
	keys := keysAcrossSlots(t.Name(), 50)
	for round := 0; round < 3; round++ {
		if err := cc.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
			return n.ScriptFlush(ctx).Err()
		}); err != nil {
			t.Fatal(err)
		}
		pipe := cc.Pipeline()
		var cmds []*redis.Cmd
		for i := 0; i < 200; i++ {
			cmds = append(cmds, s.Run(ctx, pipe, []string{keys[i%len(keys)]}, 1))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, cmd := range cmds {
			want := int64(round*4 + i/len(keys) + 1)
			if got, err := cmd.Int64(); err != nil || got != want {
				t.Fatalf("round %d call %d = %d, %v; want %d", round, i, got, err, want)
			}
		}
		if n := countNames(cmds)["eval"]; n != len(keys) {
			t.Fatalf("round %d: %d EVAL, want one per slot (%d)", round, n, len(keys))
		}
	}
}

func TestOptimizePipelinesOnRing(t *testing.T) {
	a, b := realRedis(t), realRedis(t)
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{
		"a": a.client.Options().Addr, "b": b.client.Options().Addr,
	}})
	t.Cleanup(func() { _ = ring.Close() })
	ctx := context.Background()
	if err := OptimizePipelines(ring); err != nil {
		t.Fatal(err)
	}
	s := MustNewScript("incr", incrSrc)
	keys := keysAcrossSlots(t.Name(), 20)
	pipe := ring.Pipeline()
	var cmds []*redis.Cmd
	for i := 0; i < 100; i++ {
		cmds = append(cmds, s.Run(ctx, pipe, []string{keys[i%len(keys)]}, 1))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range cmds {
		if got, err := cmd.Int64(); err != nil || got != int64(i/len(keys)+1) {
			t.Fatalf("call %d = %d, %v", i, got, err)
		}
	}
}
