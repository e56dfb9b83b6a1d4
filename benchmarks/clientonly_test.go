package benchmarks

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// replies is a go-redis hook that records the reply of every EVALSHA a
// client sends to a real server, by SHA1, so that a stub client can give
// the same replies without a server.
type replies struct {
	mu    sync.Mutex
	bySHA map[string]any
}

func (r *replies) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *replies) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (r *replies) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if c, ok := cmd.(valueCmd); ok && err == nil && cmdName(cmd) == "evalsha" {
			r.mu.Lock()
			r.bySHA[fmt.Sprint(cmd.Args()[1])] = c.Val()
			r.mu.Unlock()
		}
		return err
	}
}

// valueCmd is a command with a generic reply: a *redis.Cmd, or a type that
// embeds one (redislua marks its commands NoRetry that way).
type valueCmd interface {
	Val() any
	SetVal(any)
}

// stub is a go-redis hook that answers every EVALSHA with the reply
// recorded for its SHA1, and sends nothing: with it, a client costs only
// its own CPU (building the command, hooks, reading the reply), which is
// what the libraries compared here add to the network and the server.
type stub struct{ r *replies }

func (s stub) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessPipelineHook answers every command of a pipeline (an
// AutoPipeliner's batch) as ProcessHook answers one.
func (s stub) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var first error
		for _, cmd := range cmds {
			if err := s.answer(cmd); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
}

func (s stub) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { return s.answer(cmd) }
}

// answer sets cmd's recorded reply, or an error.
func (s stub) answer(cmd redis.Cmder) error {
	c, ok := cmd.(valueCmd)
	if !ok || cmdName(cmd) != "evalsha" {
		cmd.SetErr(fmt.Errorf("stub: unexpected %v", cmd.Args()))
		return cmd.Err()
	}
	v, ok := s.r.bySHA[fmt.Sprint(cmd.Args()[1])]
	if !ok {
		cmd.SetErr(fmt.Errorf("stub: no reply recorded for %v", cmd.Args()))
		return cmd.Err()
	}
	c.SetVal(v)
	return nil
}

// BenchmarkClientOnlyAutoPipeline is BenchmarkClientOnly's per-call group
// through the stub client's AutoPipeliner, from 1 and 256 goroutines:
// what the library adds to go-redis's batching with no network and no
// server, the part of BenchmarkConcurrency's ratios that is its own. A
// control runs raw EvalSha under three empty frames: with hundreds of
// goroutines waiting in the AutoPipeliner, the depth of the call path
// alone costs throughput.
func BenchmarkClientOnlyAutoPipeline(b *testing.B) {
	ctx := context.Background()
	recording, stubbed := clientOnly(b)
	if err := script("incr").Load(ctx, recording); err != nil {
		b.Fatal(err)
	}
	for _, v := range perCallVariants(recording)[:2] {
		if err := v.op(ctx); err != nil {
			b.Fatalf("%s on the server: %v", v.name, err)
		}
	}
	ap, err := stubbed.AutoPipeline()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ap.Close() })
	s := script("incr")
	sha := s.SHA()
	variants := []variant{
		{"raw-evalsha-ap", func(ctx context.Context) error { return ap.EvalSha(ctx, sha, perCallKeys, 1).Err() }},
		{"raw-evalsha-ap-again", func(ctx context.Context) error { return ap.EvalSha(ctx, sha, perCallKeys, 1).Err() }},
		{"redislua-run-ap", func(ctx context.Context) error { return s.Run(ctx, ap, perCallKeys, 1).Err() }},
		// Raw, under three more frames that do nothing: what a deeper
		// call path costs every goroutine waiting in the AutoPipeliner.
		{"raw-evalsha-ap-3-frames", func(ctx context.Context) error { return frame1(ctx, ap, sha) }},
	}
	for _, g := range []int{1, 256} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			runPaired(b, g, 20000, asPaired(variants))
		})
	}
}

// frame1, frame2 and frame3 send raw EvalSha through three frames that
// the compiler may not inline.
//
//go:noinline
func frame1(ctx context.Context, ap *redis.AutoPipeliner, sha string) error {
	return frame2(ctx, ap, sha)
}

//go:noinline
func frame2(ctx context.Context, ap *redis.AutoPipeliner, sha string) error {
	return frame3(ctx, ap, sha)
}

//go:noinline
func frame3(ctx context.Context, ap *redis.AutoPipeliner, sha string) error {
	return ap.EvalSha(ctx, sha, perCallKeys, 1).Err()
}

// clientOnly returns a client that talks to a real server and records its
// replies, and a stub client (on no server) that replays them; run the
// variants on the first once before timing them on the second.
func clientOnly(tb testing.TB) (recording, stubbed *redis.Client) {
	tb.Helper()
	_, recording = standalone(tb, 0)
	r := &replies{bySHA: map[string]any{}}
	recording.AddHook(r)
	stubbed = redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	tb.Cleanup(func() { _ = stubbed.Close() })
	stubbed.AddHook(stub{r})
	return recording, stubbed
}

// BenchmarkClientOnly measures what each variant costs the client alone,
// with the network and the server replaced by a stub that replays
// recorded replies: pure CPU, one goroutine, as a paired benchmark (see
// runPaired) whose first variant is the base. The difference between two
// variants here is CPU that a real call spends on top of the same round
// trip and the same server work.
func BenchmarkClientOnly(b *testing.B) {
	ctx := context.Background()
	recording, stubbed := clientOnly(b)
	if err := script("incr").Load(ctx, recording); err != nil {
		b.Fatal(err)
	}
	type group struct {
		name     string
		variants func(c *redis.Client) []variant
	}
	groups := []group{
		{"per-call", perCallVariants},
		{"lock", func(c *redis.Client) []variant {
			var vs []variant
			impls := lockImpls(c)
			for _, impl := range []lockImpl{impls[1], impls[0]} { // redislock: the base
				vs = append(vs, variant{impl.name, func(ctx context.Context) error {
					return impl.cycle(ctx, "bench:client-only:"+impl.name)
				}})
			}
			return vs
		}},
	}
	for _, r := range rateRegimes {
		groups = append(groups, group{"ratelimit/regime=" + r.name, func(c *redis.Client) []variant {
			var vs []variant
			impls := rateImpls(b, c, r)
			// A key per regime: the regimes' windows differ, and a sliding
			// counter refuses a key that holds another window's counts.
			key := "bench:client-only:rl:" + r.name
			for _, impl := range []rateImpl{impls[3], impls[0], impls[1], impls[2]} { // redis_rate: the base
				vs = append(vs, variant{impl.name, func(ctx context.Context) error {
					_, err := impl.allow(ctx, key)
					return err
				}})
			}
			return vs
		}})
	}
	for _, g := range groups {
		for _, v := range g.variants(recording) {
			for range 20 { // past the refusing regime's first admitted calls
				if err := v.op(ctx); err != nil {
					b.Fatalf("%s/%s on the server: %v", g.name, v.name, err)
				}
			}
		}
		b.Run("op="+g.name, func(b *testing.B) {
			runPaired(b, 1, 2000, asPaired(g.variants(stubbed)))
		})
	}
}
