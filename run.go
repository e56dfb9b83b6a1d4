package redislua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redislua/redislua/internal/clients"
)

// Run runs the script with keys and args and returns go-redis's *redis.Cmd,
// so its usual accessors (.Int64(), .Text(), .Slice(), ...) apply.
//
// On a client, Run sends EVALSHA (EVALSHA_RO for read-only scripts). If the
// server answers NOSCRIPT, which proves the script did not run, Run sends
// the script once with EVAL (EVAL_RO), which also caches it again. No other
// error causes a second send: a script whose outcome is unknown (a timeout,
// a lost connection) is never run twice.
//
// A *redis.ClusterClient follows a node's MOVED, ASK and READONLY replies
// (and, with ReadOnly set, LOADING) whatever Run asks. So the first Run or
// Load on such a client hooks its node clients (asking the cluster for its
// nodes: one CLUSTER SLOTS), and a reply of that kind is followed only if
// the node gives it again to a probe: the same command, keys and flags,
// whose script just returns 0. A script's own reply that looks like one
// reaches the caller as written and the script is not sent again, also in
// the client's pipelines once its nodes are hooked (by the first Run or
// Load, or by the first pipeline with OptimizePipelines).
//
// A script must not return an error reply (redis.error_reply, {err=...})
// that starts with NOSCRIPT or "ERR NOSCRIPT": Run takes it for the
// server's and sends the script again. Nor, since callers and other
// clients take them for the server's, one that starts with MOVED, ASK,
// READONLY, LOADING, TRYAGAIN, CLUSTERDOWN, MASTERDOWN, NOREPLICAS or
// BUSY. The linter's server-error-code check reports them.
//
// Inside a pipeline or transaction (c is a redis.Pipeliner), Run queues a
// plain EVAL (EVAL_RO), because a NOSCRIPT error inside a pipeline cannot
// be recovered without running commands out of order; OptimizePipelines
// turns repeated calls into EVALSHA. The queued command's error, after
// Exec, is the server's raw error unless the client has OptimizePipelines,
// which maps it: otherwise pass it through MapError. Read the result from
// the *redis.Cmd that Run returns: the command queued in the pipeline wraps
// it (to mark it never to be re-sent), so the slice Exec returns holds a
// redis.Cmder that is not a *redis.Cmd.
//
// Through an *redis.AutoPipeliner (go-redis's experimental batching
// client), Run is Run on the client it was made from, with the same checks,
// errors and single NOSCRIPT fallback, its commands sent in the
// AutoPipeliner's batches (docs/autopipelining.md). The context still
// counts: nothing is sent once it has ended, and a call whose context ends
// while its command waits in a batch returns then, with the context's
// error; the script may still run. With contexts that can end, the async
// face (AsyncAutoPipeline) is the cheaper: the blocking face needs a
// goroutine per call to honour them.
//
// Errors are set on the returned command (so cmd.Err() is already mapped):
// a *ScriptError naming the script, file and line for errors raised while
// the script ran, a *SyntaxError if the server cannot compile it, and
// redis.Nil unchanged. Replies the script returns on purpose with
// redis.error_reply are passed through untouched.
func (s *Script) Run(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd {
	return s.run(ctx, c, keys, args, nil) // inlined: Run adds no frame (see process)
}

// runObserved is Run on a client with observer o.
func (s *Script) runObserved(ctx context.Context, o Observer, c redis.Scripter, keys []string, args []any) *redis.Cmd {
	call := newCall(Call{Name: s.name, Command: s.firstCommand(), Addr: clientAddr(c), Keys: len(keys), Start: time.Now()})
	ctx = startCall(ctx, o, call)
	cmd := s.run(ctx, c, keys, args, call)
	endCall(ctx, o, call, cmd.Err())
	return cmd
}

// firstCommand is the command Run sends first, as Call names it.
func (s *Script) firstCommand() string {
	if s.readOnly {
		return "EVALSHA_RO"
	}
	return "EVALSHA"
}

// run is Run, observed by call when it is not nil; with a nil call, it
// starts the call of c's observer, if any.
//
// It sends the first command from its own frame, not a helper's (see
// process), and keeps that frame small: the checks and the building are
// in prepare, the fallback in after.
func (s *Script) run(ctx context.Context, c redis.Scripter, keys []string, args []any, call *Call) *redis.Cmd {
	if call == nil && observedClients.Load() != 0 {
		if o := observerOf(c); o != nil {
			return s.runObserved(ctx, o, c, keys, args)
		}
	}
	cmd, ended := s.prepare(ctx, c, keys, args, call)
	if cmd == nil {
		return ended
	}
	ap, batched := c.(*redis.AutoPipeliner)
	switch {
	case !batched:
		_ = c.(processor).Process(ctx, cmd) // the error is on cmd
	case direct(ctx, ap, cmd):
		_ = ap.Process(ctx, cmd)
	case !process(ctx, c, cmd):
		return failedCmd(ctx, s.sha, contextError(ctx))
	}
	return s.after(ctx, c, keys, args, call, cmd.result())
}

// prepare checks a call of run and builds its first command, EVALSHA
// (EVALSHA_RO). A call that ends here returns its result instead: misuse,
// a pipeline (which queues an EVAL), a cluster whose nodes cannot be
// listed, and a client without Process or a lone struct argument (sent
// through the client's methods).
func (s *Script) prepare(ctx context.Context, c redis.Scripter, keys []string, args []any, call *Call) (*onceCmd, *redis.Cmd) {
	flat, known := flatArgs(args)
	if err := s.checkCall(c, keys, flat, known); err != nil {
		return nil, failedCmd(ctx, s.sha, err)
	}
	if p, ok := c.(redis.Pipeliner); ok {
		return nil, s.eval(ctx, p, keys, args, nil)
	}
	if cc, ok := clientOf(c).(*redis.ClusterClient); ok {
		if err := guardCluster(ctx, cc); err != nil {
			return nil, failedCmd(ctx, s.sha, fmt.Errorf("redislua: running script %s: listing the cluster's nodes: %w", s.name, err))
		}
	}
	name := cmdEvalSha
	if s.readOnly {
		name = cmdEvalShaRO
	}
	if _, ok := c.(processor); ok && known {
		return s.command(ctx, c, name, keys, flat, call), nil
	}
	return nil, s.after(ctx, c, keys, args, call, send(ctx, c, name, s, keys, args, call))
}

// after is run once the first command has its reply: the one EVAL when
// the server answers NOSCRIPT, and the mapping of errors.
func (s *Script) after(ctx context.Context, c redis.Scripter, keys []string, args []any, call *Call, cmd *redis.Cmd) *redis.Cmd {
	if isNoScript(cmd.Err()) {
		if call != nil {
			call.FallbackAt = time.Now()
		}
		cmd = s.eval(ctx, c, keys, args, call)
	}
	s.finish(ctx, cmd)
	return cmd
}

// finish maps the error of a sent command, if any, as Run documents.
func (s *Script) finish(ctx context.Context, cmd *redis.Cmd) {
	err := cmd.Err()
	if err == nil {
		return
	}
	if mapped := s.mapError(err); mapped != err {
		cmd.SetErr(mapped)
	} else if ctxErr := contextError(ctx); ctxErr != nil && !errors.Is(err, ctxErr) {
		// A read timeout at the deadline: the outcome is unknown, as for
		// the context's own error, which callers test for.
		cmd.SetErr(fmt.Errorf("%w: %w", ctxErr, err))
	}
}

// contextError is ctx.Err(), or DeadlineExceeded once the deadline has
// passed: a socket deadline set from ctx can fire before ctx's own timer.
func contextError(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (s *Script) eval(ctx context.Context, c redis.Scripter, keys []string, args []any, call *Call) *redis.Cmd {
	if s.readOnly {
		return send(ctx, c, cmdEvalRO, s, keys, args, call)
	}
	return send(ctx, c, cmdEval, s, keys, args, call)
}

// checkCall catches misuse before anything is sent; flat and known are
// flatArgs of the call's args.
func (s *Script) checkCall(c redis.Scripter, keys []string, flat []any, known bool) error {
	if isNilClient(c) {
		return fmt.Errorf("%w: running script %s", ErrNilClient, s.name)
	}
	if !within(len(keys), s.keyMin, s.keyMax) {
		return s.countError("keys", len(keys), s.keyMin, s.keyMax)
	}
	if s.argMin > 0 || s.argMax >= 0 { // the header declares ARGV
		if known && !within(len(flat), s.argMin, s.argMax) {
			return s.countError("args", len(flat), s.argMin, s.argMax)
		}
	}
	for i, k := range keys {
		if k == "" {
			return fmt.Errorf("%w: KEYS[%d] of script %s", ErrEmptyKey, i+1, s.name)
		}
	}
	if (s.checkSlots || isCluster(c)) && !s.crossSlotOK && CheckSlots(keys...) != nil {
		return newCrossSlotError(s.name, keys)
	}
	return nil
}

// Load sends SCRIPT LOAD so that later calls need only EVALSHA. On a
// *redis.ClusterClient it loads the script on every master and replica,
// hooking each node against scripts' redirect replies as Run does; through
// an *redis.AutoPipeliner, on the client it was made from.
// Inside a pipeline it queues the command, whose result arrives with Exec.
func (s *Script) Load(ctx context.Context, c redis.Scripter) error {
	if isNilClient(c) {
		return fmt.Errorf("%w: loading script %s", ErrNilClient, s.name)
	}
	c = clientOf(c)
	if cc, ok := c.(*redis.ClusterClient); ok {
		return eachNode(ctx, cc, func(ctx context.Context, node *redis.Client) error {
			return s.checkLoaded(node.ScriptLoad(ctx, s.src.Text))
		})
	}
	cmd := c.ScriptLoad(ctx, s.src.Text)
	if _, ok := c.(redis.Pipeliner); ok {
		return nil
	}
	return s.checkLoaded(cmd)
}

// checkLoaded checks a SCRIPT LOAD reply: no error and the expected SHA1.
func (s *Script) checkLoaded(cmd *redis.StringCmd) error {
	if err := cmd.Err(); err != nil {
		return fmt.Errorf("redislua: loading script %s: %w", s.name, s.mapError(err))
	}
	if got := cmd.Val(); got != s.sha {
		return fmt.Errorf("redislua: loading script %s: server returned SHA1 %q, want %q", s.name, got, s.sha)
	}
	return nil
}

// Exists reports whether the server has the script in its cache (SCRIPT
// EXISTS); on a *redis.ClusterClient, whether every master and replica has
// it. It needs an answer now, so it returns ErrPipeline inside a pipeline.
func (s *Script) Exists(ctx context.Context, c redis.Scripter) (bool, error) {
	if isNilClient(c) {
		return false, fmt.Errorf("%w: checking script %s", ErrNilClient, s.name)
	}
	c = clientOf(c)
	if _, ok := c.(redis.Pipeliner); ok {
		return false, fmt.Errorf("%w: Exists of script %s", ErrPipeline, s.name)
	}
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return s.existsOn(ctx, c)
	}
	var missing atomic.Bool
	err := eachNode(ctx, cc, func(ctx context.Context, node *redis.Client) error {
		found, err := s.existsOn(ctx, node)
		if !found {
			missing.Store(true)
		}
		return err
	})
	return err == nil && !missing.Load(), err
}

func (s *Script) existsOn(ctx context.Context, c redis.Scripter) (bool, error) {
	found, err := c.ScriptExists(ctx, s.sha).Result()
	if err != nil {
		return false, fmt.Errorf("redislua: checking script %s: %w", s.name, err)
	}
	return len(found) == 1 && found[0], nil
}

// MapError turns a raw server error from running this script, such as the
// error of a command queued by Run in a pipeline, into the *ScriptError or
// *SyntaxError that Run returns outside pipelines. Other errors come back
// unchanged.
func (s *Script) MapError(err error) error { return s.mapError(err) }

// failedCmd returns a command that carries err and was never sent.
func failedCmd(ctx context.Context, sha string, err error) *redis.Cmd {
	cmd := redis.NewCmd(ctx, "evalsha", sha)
	cmd.SetErr(err)
	return cmd
}

// isNilClient reports whether c is nil, including a typed nil pointer (a
// nil *redis.Client, *redis.Tx or a caller's own client type), whose
// methods would panic.
func isNilClient(c any) bool { return clients.IsNil(c) }

func within(n, min, max int) bool { return n >= min && (max < 0 || n <= max) }

func (s *Script) countError(what string, got, min, max int) error {
	declared := s.header.Keys
	if what == "args" {
		declared = s.header.Args
	}
	names := make([]string, len(declared))
	for i, p := range declared {
		switch {
		case p.Optional:
			names[i] = "[" + p.Name + "]"
		case p.Variadic:
			names[i] = p.Name + "..."
		default:
			names[i] = p.Name
		}
	}
	return &CountError{Script: s.name, What: what, Got: got, Want: strings.Join(names, " "), Min: min, Max: max}
}
