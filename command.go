package redislua

import (
	"context"
	"slices"

	"github.com/redis/go-redis/v9"
)

// Command names, as go-redis spells them.
const (
	cmdEval      = "eval"
	cmdEvalRO    = "eval_ro"
	cmdEvalSha   = "evalsha"
	cmdEvalShaRO = "evalsha_ro"
)

// processor is implemented by every go-redis client, connection and
// pipeline: it sends (or queues) a command built by the caller.
type processor interface {
	Process(ctx context.Context, cmd redis.Cmder) error
}

// send runs EVAL-family command name of script s on c: with its SHA1 for
// EVALSHA(_RO), with its source for EVAL(_RO).
//
// It builds the command itself, exactly as go-redis's Eval methods do, and
// hands it to Process, so that args never reach an interface method: the
// caller's variadic slice then stays on its stack, and the boxed payload is
// reused, making Run allocate less than a raw client.EvalSha.
func send(ctx context.Context, c redis.Scripter, name string, s *Script, keys []string, args []any) *redis.Cmd {
	bySHA := name == cmdEvalSha || name == cmdEvalShaRO
	p, ok := c.(processor)
	if !ok || !plainArgs(args) {
		payload := s.src.Text
		if bySHA {
			payload = s.sha
		}
		return sendWithMethods(ctx, c, name, payload, keys, slices.Clone(args))
	}
	cmdArgs := make([]any, 3+len(keys), 3+len(keys)+len(args))
	cmdArgs[0] = name
	cmdArgs[1] = s.bodyArg
	if bySHA {
		cmdArgs[1] = s.shaArg
	}
	cmdArgs[2] = len(keys)
	for i, key := range keys {
		cmdArgs[3+i] = key
	}
	cmdArgs = append(cmdArgs, args...)
	cmd := redis.NewCmd(ctx, cmdArgs...)
	if len(keys) > 0 {
		cmd.SetFirstKeyPos(3) // how a cluster client routes it
	}
	_ = p.Process(ctx, cmd) // the error is on cmd
	return cmd
}

// scriptBody is the source argument of the EVAL commands Run builds. It
// writes the source (go-redis sends an encoding.BinaryMarshaler's bytes),
// lets the pipeline hook recognise the script, and prints as
// "<script name>" in logs instead of the whole source.
type scriptBody struct {
	script *Script
	text   []byte
}

// MarshalBinary returns the source, as go-redis sends it.
func (b *scriptBody) MarshalBinary() ([]byte, error) { return b.text, nil }

// String names the script, for logs and traces.
func (b *scriptBody) String() string { return "<script " + b.script.name + ">" }

// plainArgs reports whether go-redis would send args as they are. A lone
// slice, map or struct argument is flattened by go-redis's Eval methods;
// such calls go through them so that behaviour stays identical.
func plainArgs(args []any) bool {
	if len(args) != 1 {
		return true
	}
	switch args[0].(type) {
	case string, []byte, int, int64, int32, int16, int8, uint, uint64, uint32, uint16, uint8, float64, float32, bool:
		return true
	}
	return false
}

// sendWithMethods sends through c's Eval methods, for clients without
// Process and for arguments go-redis flattens.
func sendWithMethods(ctx context.Context, c redis.Scripter, name, payload string, keys []string, args []any) *redis.Cmd {
	switch name {
	case cmdEvalSha:
		return c.EvalSha(ctx, payload, keys, args...)
	case cmdEvalShaRO:
		return c.EvalShaRO(ctx, payload, keys, args...)
	case cmdEvalRO:
		return c.EvalRO(ctx, payload, keys, args...)
	}
	return c.Eval(ctx, payload, keys, args...)
}
