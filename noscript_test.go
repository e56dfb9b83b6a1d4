package redislua

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"
)

// quantitySrc counts its runs in KEYS[1], then refuses the call with a
// reply that carries the caller's ARGV[1].
const quantitySrc = "redis.call('INCR', KEYS[1])\nreturn redis.error_reply('ERR invalid quantity ' .. ARGV[1])"

// A script's reply that carries the word NOSCRIPT from the caller's data
// is the script's reply: the script ran, and is not sent again.
func TestRunSendsOnceWhenTheCallersDataSaysNoScript(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := MustNewScript("quantity", quantitySrc)
		if err := s.Load(ctx, b.client); err != nil {
			t.Fatal(err)
		}
		b.sent.Take()
		err := s.Run(ctx, b.client, []string{"runs"}, "NOSCRIPT").Err()
		if want := "ERR invalid quantity NOSCRIPT"; err == nil || err.Error() != want {
			t.Errorf("err = %v, want the script's reply %q", err, want)
		}
		if errors.Is(err, ErrNoScript) {
			t.Error("the script's reply reads as ErrNoScript")
		}
		if got := b.sent.Take(); len(got) != 1 || got[0] != "evalsha" {
			t.Errorf("sent %v, want one evalsha", got)
		}
		if n, _ := b.client.Get(ctx, "runs").Int(); n != 1 {
			t.Errorf("the script ran %d times, want 1", n)
		}
	})
}

// noScriptHook answers every EVALSHA with reply instead of sending it, as
// a server that does not have the script does.
type noScriptHook struct{ reply string }

func (noScriptHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h noScriptHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == cmdEvalSha {
			return redisReply(h.reply)
		}
		return next(ctx, cmd)
	}
}

func (noScriptHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// redisReply is an error reply, as go-redis reads one from the server.
type redisReply string

func (e redisReply) Error() string { return string(e) }
func (redisReply) RedisError()     {}

// Each form of NOSCRIPT that a server is known to send makes Run send the
// script once with EVAL: Redis's, and older Kvrocks's behind "ERR ".
func TestRunFallsBackToEvalOnEachKnownNoScriptForm(t *testing.T) {
	for _, reply := range []string{
		"NOSCRIPT No matching script. Please use EVAL.",
		"NOSCRIPT No matching script. Please use EVAL",
		"ERR NOSCRIPT No matching script. Please use EVAL",
	} {
		t.Run(reply, func(t *testing.T) {
			b := forMiniredis(t)
			b.client.AddHook(noScriptHook{reply: reply})
			ctx := context.Background()
			s := MustNewScript("incr", incrSrc)
			if got, err := s.Run(ctx, b.client, []string{"n"}, 1).Int64(); got != 1 || err != nil {
				t.Fatalf("Run = %d, %v; want 1, nil", got, err)
			}
			if got := b.sent.Take(); len(got) != 2 || got[0] != "evalsha" || got[1] != "eval" {
				t.Errorf("sent %v, want evalsha then eval", got)
			}
		})
	}
}
