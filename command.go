package redislua

import (
	"context"
	"encoding"
	"net"
	"reflect"
	"slices"
	"time"

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
// EVALSHA(_RO), with its source for EVAL(_RO). call, if not nil, is the
// observed call the command belongs to.
func send(ctx context.Context, c redis.Scripter, name string, s *Script, keys []string, args []any, call *Call) *redis.Cmd {
	flat, known := flatArgs(args)
	if _, ok := c.(processor); !ok || !known {
		payload := s.src.Text
		if name == cmdEvalSha || name == cmdEvalShaRO {
			payload = s.sha
		}
		return sendWithMethods(ctx, c, name, payload, keys, slices.Clone(args))
	}
	cmd := s.command(ctx, c, name, keys, flat, call)
	if !process(ctx, c, cmd) {
		return failedCmd(ctx, s.sha, contextError(ctx))
	}
	return cmd.result()
}

// command builds EVAL-family command name of script s with ARGV flat (as
// flatArgs gives it), as go-redis's Eval methods do but marked NoRetry
// (see onceCmd), for c's Process: args then never reach an interface
// method, so the caller's variadic slice stays on its stack, the boxed
// payload and name are reused, and the wrapper shares the command's
// allocation, making Run allocate 2 fewer times than a raw
// client.EvalSha. A client without Process, and a lone struct argument,
// go through c's methods instead (see send).
func (s *Script) command(ctx context.Context, c redis.Scripter, name string, keys []string, flat []any, call *Call) *onceCmd {
	bySHA := name == cmdEvalSha || name == cmdEvalShaRO
	cmdArgs := make([]any, 3+len(keys), 3+len(keys)+len(flat))
	// The names as constants: boxed without allocating, as name would be.
	switch name {
	case cmdEvalSha:
		cmdArgs[0] = cmdEvalSha
	case cmdEvalShaRO:
		cmdArgs[0] = cmdEvalShaRO
	case cmdEvalRO:
		cmdArgs[0] = cmdEvalRO
	default:
		cmdArgs[0] = cmdEval
	}
	switch _, batched := c.(*redis.AutoPipeliner); {
	case bySHA:
		cmdArgs[1] = s.shaArg
	case batched:
		cmdArgs[1] = s.rawBodyArg
	default:
		cmdArgs[1] = s.bodyArg
	}
	cmdArgs[2] = len(keys)
	for i, key := range keys {
		cmdArgs[3+i] = key
	}
	cmdArgs = append(cmdArgs, flat...)
	cmd := &onceCmd{script: s, call: call}
	cmd.Cmd = *redis.NewCmd(ctx, cmdArgs...) // one allocation for both
	if len(keys) > 0 {
		cmd.SetFirstKeyPos(3) // how a cluster client routes it
	}
	return cmd
}

// process sends cmd, built for c, and reports whether it has its reply
// (or error); false means that c is an *redis.AutoPipeliner and ctx ended
// first (see processAuto).
//
// Run and Function.Call are inlined into their callers and send in their
// own frame what they can (to a client; to a blocking AutoPipeliner, with
// a context that cannot end), calling process only for the rest: a
// goroutine waiting for its reply waits under every frame between its
// caller and the client, and with hundreds of goroutines every frame
// there measurably slows them all (BENCHMARKS.md, "Concurrency").
func process(ctx context.Context, c redis.Scripter, cmd *onceCmd) bool {
	ap, batched := c.(*redis.AutoPipeliner)
	if !batched {
		_ = c.(processor).Process(ctx, cmd) // the error is on cmd
		return true
	}
	ok, _ := sendAuto(ctx, ap, cmd)
	return ok
}

// direct reports whether a command for ap can go to ap.Process as it is:
// a blocking AutoPipeliner, a context that never ends, no observed call.
// Otherwise sendAuto sends it.
func direct(ctx context.Context, ap *redis.AutoPipeliner, cmd *onceCmd) bool {
	return cmd.call == nil && ctx.Done() == nil && ap.IsBlocking()
}

// onceCmd is a script command that go-redis must not send again once it
// may have reached the server: a read timeout or a lost connection leaves
// its outcome unknown, and re-sending could run the script twice. go-redis
// still re-sends a command that never left the client, and a ClusterClient
// follows the redirections (MOVED, ASK) and READONLY replies of a node,
// which prove the script did not run; the node hooks of cluster_guard.go
// hold back such a reply when the script, not the node, wrote it.
type onceCmd struct {
	redis.Cmd
	script *Script   // nil for a function call
	fn     *Function // nil for a script
	// call is the observed call the command belongs to (see Observe), or
	// nil; a cluster's node hook writes the node's address there.
	call *Call
	// held is a script's reply that a node hook kept from go-redis's
	// cluster redirection loop; the command is never sent again.
	held error
}

// callName names what oc calls: the script, or "library.function".
func (oc *onceCmd) callName() string {
	if oc.fn != nil {
		return oc.fn.qualified
	}
	return oc.script.name
}

// result is the command's *redis.Cmd once sent, with a reply a node hook
// held back as its error.
func (oc *onceCmd) result() *redis.Cmd {
	if oc.held != nil {
		oc.SetErr(oc.held) // see cluster_guard.go
	}
	return &oc.Cmd
}

// NoRetry tells go-redis not to retry the command after sending it.
func (*onceCmd) NoRetry() bool { return true }

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

// rawBody is the source argument of an EVAL that Run sends through an
// *redis.AutoPipeliner (its NOSCRIPT fallback). The AutoPipeliner sends
// it in a pipeline, whose EVALs OptimizePipelines's hook turns into a
// SCRIPT LOAD and EVALSHAs, and a SCRIPT FLUSH landing between the two
// would fail the call with NOSCRIPT. The hook does not recognise this
// type: the EVAL goes as it is, carrying the source.
type rawBody struct{ *scriptBody }

// scriptSHA is the SHA1 argument of an EVALSHA that OptimizePipelines's
// hook rewrote from an EVAL: it writes the SHA1, and, unlike a plain
// string, lets the hook recognise the command again, should go-redis pass
// it through the hook a second time (a cluster redirection).
type scriptSHA struct {
	script *Script
	sha    []byte
}

// MarshalBinary returns the SHA1 in hex, as go-redis sends it.
func (r *scriptSHA) MarshalBinary() ([]byte, error) { return r.sha, nil }

// String is the SHA1, for logs and traces.
func (r *scriptSHA) String() string { return r.script.sha }

// plainArgs reports whether go-redis sends args as they are: anything but
// a lone argument of a kind it flattens.
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

// flatArgs returns the ARGV go-redis's Eval methods would send for args: a
// lone []string, []any or map is flattened (a map into key, value pairs),
// a lone nil is dropped. known is false for a lone struct, which go-redis
// flattens field by field: such calls go through its methods.
func flatArgs(args []any) (flat []any, known bool) {
	if plainArgs(args) {
		return args, true
	}
	switch a := args[0].(type) {
	case nil:
		return nil, true
	case []any:
		return a, true
	case []string:
		flat = make([]any, len(a))
		for i, v := range a {
			flat[i] = v
		}
		return flat, true
	case map[string]any:
		flat = make([]any, 0, 2*len(a))
		for k, v := range a {
			flat = append(flat, k, v)
		}
		return flat, true
	case map[string]string:
		flat = make([]any, 0, 2*len(a))
		for k, v := range a {
			flat = append(flat, k, v)
		}
		return flat, true
	case time.Time, time.Duration, encoding.BinaryMarshaler, net.IP:
		return args, true
	}
	v := reflect.ValueOf(args[0])
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		return nil, false
	}
	return args, true
}

// sendWithMethods sends through c's Eval methods, for clients without
// Process and for a lone struct argument. go-redis may then re-send the
// command after a timeout (its MaxRetries), which Run cannot prevent.
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
