package redislua

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/rediserr"
)

// OptimizePipelines installs go-redis hooks on c (a *redis.Client,
// *redis.ClusterClient or *redis.Ring; given an *redis.AutoPipeliner, on
// the client it was made from) so that a pipeline or transaction
// sends each script's source once per server instead of with every call,
// and maps the errors of queued script commands as Run does outside
// pipelines. Call it once, when the client is created.
//
// Without the hook, Run queues a plain EVAL per call in a pipeline: always
// safe, but every call carries the whole source. With it, each server's
// share of a pipeline starts with one SCRIPT LOAD per script (after MULTI
// in a transaction) and every call of the script there becomes EVALSHA.
// SCRIPT LOAD has no keys and Redis runs it above maxmemory, so no call
// depends on another being accepted: a call refused by an ACL, maxmemory,
// MOVED or ASK refuses only itself (in a transaction Redis discards the
// whole transaction, as without the hook). The rewrite runs on each
// server's client after go-redis has routed the pipeline, so it follows
// go-redis wherever it sends a command (scripts without keys, reads spread
// over replicas, redirections), and covers transactions run by Watch.
// Calls are neither reordered nor sent twice, and a script cache flushed
// before or between pipelines cannot cause NOSCRIPT.
//
// Before a server's first pipeline with a script, the hook sends one
// SCRIPT LOAD on its own to learn whether the user may run it; where the
// server refuses it (ACL, renamed command), pipelines to it keep a plain
// EVAL per call. A ClusterClient's transaction, which go-redis sends whole
// to one node, is rewritten before routing, after a first SCRIPT LOAD on
// every node. Nodes a ClusterClient created before OptimizePipelines are
// hooked at its first pipeline (one CLUSTER SLOTS); until then, a
// transaction run by Watch on one of them sends plain EVAL and its errors
// are not mapped.
//
// Errors: cmd.Err() of a failed script command is mapped with that
// command's own script. Exec returns the error of the first queued command
// that failed, mapped only if it is a script command. A call whose SCRIPT
// LOAD failed (a compile error) gets the load's error, not NOSCRIPT.
//
// What it cannot exclude: in a plain (non-transaction) pipeline, another
// client flushing the script cache (SCRIPT FLUSH) between the SCRIPT LOAD
// and a call: that call fails with ErrNoScript and is not retried, since
// running it after the commands queued behind it would break the
// pipeline's order. A transaction runs atomically, so there this cannot
// happen. If the user loses the right to SCRIPT LOAD while the client
// runs, the pipelines in flight fail (a transaction is discarded) and
// later ones use plain EVAL.
func OptimizePipelines(c interface{ AddHook(redis.Hook) }) error {
	if isNilClient(c) {
		return fmt.Errorf("%w: OptimizePipelines", ErrNilClient)
	}
	if ap, ok := c.(*redis.AutoPipeliner); ok {
		// Its AddHook hooks its client: hook that client as itself.
		if u, ok := clientOf(ap).(interface{ AddHook(redis.Hook) }); ok {
			c = u
		}
	}
	switch c := c.(type) {
	case *redis.ClusterClient:
		installClusterHooks(c)
	case *redis.Ring:
		installRingHooks(c)
	default:
		c.AddHook(newServerHook(c))
	}
	return nil
}

// Whether a server lets the client run SCRIPT LOAD.
const (
	loadUnknown int32 = iota
	loadAllowed
	loadRefused
)

// serverHook is the hook on the client of one server: a Client, or a node
// or shard client of a ClusterClient or Ring. It rewrites the script
// commands of the pipelines go-redis sends to that server.
type serverHook struct {
	// probe sends one SCRIPT LOAD of s outside any pipeline; nil if the
	// client cannot.
	probe func(ctx context.Context, s *Script) error
	load  atomic.Int32 // loadUnknown, loadAllowed or loadRefused
}

func newServerHook(c any) *serverHook {
	h := &serverHook{}
	if sc, ok := c.(redis.Scripter); ok {
		h.probe = func(ctx context.Context, s *Script) error {
			return sc.ScriptLoad(ctx, s.src.Text).Err()
		}
	} else {
		h.load.Store(loadAllowed) // learnt from the pipelines' own loads
	}
	return h
}

func (h *serverHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *serverHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *serverHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if ctx.Value(clusterTx{}) != nil {
			return next(ctx, cmds) // rewritten by the ClusterClient's hook
		}
		b := h.prepare(ctx, cmds)
		return h.finish(b, next(ctx, b.wire))
	}
}

// batch is the part of a pipeline that goes to one server.
type batch struct {
	cmds  []redis.Cmder   // as go-redis passed them (MULTI ... EXEC for a transaction)
	wire  []redis.Cmder   // cmds with the SCRIPT LOADs: what is sent
	loads []scriptLoad    // one per script, in order of first use
	index map[*Script]int // loads by script, once there are many
}

// scriptLoad is a SCRIPT LOAD the hook added to a batch.
type scriptLoad struct {
	script *Script
	cmd    *redis.StringCmd
}

// prepare rewrites every script command of cmds in place, to EVALSHA
// after a SCRIPT LOAD of its script in wire if the server allows SCRIPT
// LOAD, to EVAL otherwise. It sets the form even when a command has one
// already: go-redis sends commands redirected by MOVED or ASK through the
// new node's hook again.
func (h *serverHook) prepare(ctx context.Context, cmds []redis.Cmder) batch {
	b := batch{cmds: cmds, wire: cmds}
	i := slices.IndexFunc(cmds, func(cmd redis.Cmder) bool { return scriptOf(cmd.Args()) != nil })
	if i < 0 {
		return b
	}
	bySHA := h.loadAllowed(ctx, scriptOf(cmds[i].Args()))
	for _, cmd := range cmds[i:] {
		args := cmd.Args()
		s := scriptOf(args)
		if s == nil {
			continue
		}
		setForm(args, s, bySHA)
		if bySHA {
			b.add(ctx, s)
		}
	}
	if len(b.loads) == 0 {
		return b
	}
	at := 0
	if isTx(cmds) {
		at = 1 // after MULTI: queued in the transaction, before its calls
	}
	wire := make([]redis.Cmder, 0, len(cmds)+len(b.loads))
	wire = append(wire, cmds[:at]...)
	for _, l := range b.loads {
		wire = append(wire, l.cmd)
	}
	b.wire = append(wire, cmds[at:]...)
	return b
}

// add queues a SCRIPT LOAD of s unless the batch has one. A map takes over
// from the list past a few scripts, so that a batch costs linear time
// however many scripts it has.
func (b *batch) add(ctx context.Context, s *Script) {
	if b.loadOf(s) >= 0 {
		return
	}
	if b.index == nil && len(b.loads) == 8 {
		b.index = make(map[*Script]int, 16)
		for i, l := range b.loads {
			b.index[l.script] = i
		}
	}
	if b.index != nil {
		b.index[s] = len(b.loads)
	}
	b.loads = append(b.loads, scriptLoad{script: s, cmd: redis.NewStringCmd(ctx, "script", "load", s.bodyArg)})
}

// loadOf returns the index of s's SCRIPT LOAD in the batch, or -1.
func (b *batch) loadOf(s *Script) int {
	if b.index != nil {
		if i, ok := b.index[s]; ok {
			return i
		}
		return -1
	}
	return slices.IndexFunc(b.loads, func(l scriptLoad) bool { return l.script == s })
}

// finish runs after the batch was sent: it gives a call that failed with
// NOSCRIPT because its script's SCRIPT LOAD failed the load's error,
// notes a server that refuses SCRIPT LOAD, maps the script errors, and
// returns the batch's error (see execError).
func (h *serverHook) finish(b batch, err error) error {
	failed := false
	for _, l := range b.loads {
		if lerr := l.cmd.Err(); lerr != nil {
			failed = true
			if loadRefusedBy(lerr) {
				h.load.Store(loadRefused)
			}
		}
	}
	if failed {
		for _, cmd := range b.cmds {
			s := scriptOf(cmd.Args())
			if s == nil || !isNoScript(cmd.Err()) {
				continue
			}
			if i := b.loadOf(s); i >= 0 && b.loads[i].cmd.Err() != nil {
				cmd.SetErr(b.loads[i].cmd.Err())
			}
		}
	}
	mapPipelineErrors(b.cmds)
	return execError(b, err)
}

// loadAllowed reports whether the server lets the client run SCRIPT LOAD,
// asking it once with s's source. Until it knows, pipelines keep EVAL.
func (h *serverHook) loadAllowed(ctx context.Context, s *Script) bool {
	switch h.load.Load() {
	case loadAllowed:
		return true
	case loadRefused:
		return false
	}
	err := h.probe(ctx, s)
	switch {
	case err == nil || errorKind(err) == rediserr.KindSyntax: // SCRIPT LOAD ran
		h.load.CompareAndSwap(loadUnknown, loadAllowed)
		return h.load.Load() == loadAllowed
	case loadRefusedBy(err):
		h.load.Store(loadRefused)
	}
	return false // unknown still (a timeout, a busy server): ask again next time
}

// loadRefusedBy reports whether err says the server will not run SCRIPT
// LOAD for this client: an ACL refusal, or a renamed or missing command.
func loadRefusedBy(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	return rediserr.Parse(msg).Kind == rediserr.KindNoPerm ||
		strings.HasPrefix(msg, "ERR unknown command") ||
		strings.HasPrefix(msg, "ERR unknown subcommand")
}

// errorKind is the kind of a server error reply, KindOther for any other
// error.
func errorKind(err error) rediserr.Kind {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return rediserr.KindOther
	}
	return rediserr.Parse(rerr.Error()).Kind
}

// setForm makes a script command EVALSHA (EVALSHA_RO) with the SHA1, or
// EVAL (EVAL_RO) with the source.
func setForm(args []any, s *Script, bySHA bool) {
	readOnly := args[0] == cmdEvalRO || args[0] == cmdEvalShaRO
	switch {
	case bySHA && readOnly:
		args[0], args[1] = cmdEvalShaRO, s.shaRefArg
	case bySHA:
		args[0], args[1] = cmdEvalSha, s.shaRefArg
	case readOnly:
		args[0], args[1] = cmdEvalRO, s.bodyArg
	default:
		args[0], args[1] = cmdEval, s.bodyArg
	}
}

// isTx reports whether cmds are a transaction as go-redis wraps it: a
// MULTI StatusCmd first and an EXEC SliceCmd last.
func isTx(cmds []redis.Cmder) bool {
	if len(cmds) < 2 {
		return false
	}
	multi, ok := cmds[0].(*redis.StatusCmd)
	if !ok || multi.Name() != "multi" {
		return false
	}
	exec, ok := cmds[len(cmds)-1].(*redis.SliceCmd)
	return ok && exec.Name() == "exec"
}

// isLoad reports whether cmd is a SCRIPT LOAD the hook added.
func isLoad(cmd redis.Cmder) bool {
	args := cmd.Args()
	if len(args) != 3 || args[0] != "script" {
		return false
	}
	_, ok := args[2].(*scriptBody)
	return ok
}

// mapPipelineErrors gives the failed script commands of a pipeline the
// errors Run gives outside pipelines, each mapped with its own command's
// script (two scripts may share a source, and so a SHA1).
func mapPipelineErrors(cmds []redis.Cmder) {
	for _, cmd := range cmds {
		err := cmd.Err()
		if err == nil {
			continue
		}
		if s := scriptOf(cmd.Args()); s != nil {
			if mapped := s.mapError(err); mapped != err {
				cmd.SetErr(mapped)
			}
		}
	}
}

// execError is the error Exec returns for a batch that go-redis ran with
// error err: the (mapped) error of the first queued command that failed,
// not counting MULTI, EXEC and the hook's SCRIPT LOADs. If none failed,
// it is err, unless err is a failed SCRIPT LOAD's, which concerns no
// command of the caller's.
func execError(b batch, err error) error {
	if err == nil {
		return nil
	}
	cmds := b.cmds
	if isTx(cmds) {
		cmds = cmds[1 : len(cmds)-1]
	}
	for _, cmd := range cmds {
		if cerr := cmd.Err(); cerr != nil && !isLoad(cmd) {
			return cerr
		}
	}
	for _, l := range b.loads {
		if lerr := l.cmd.Err(); lerr != nil && errors.Is(err, lerr) {
			return nil
		}
	}
	return err
}

// scriptOf returns the script of a command that Run queued in a pipeline,
// recognised by its source argument or by the SHA1 the hook put in its
// place; nil for any other command.
func scriptOf(args []any) *Script {
	if len(args) < 3 {
		return nil
	}
	switch p := args[1].(type) {
	case *scriptBody:
		return p.script
	case *scriptSHA:
		return p.script
	}
	return nil
}
