package redislua

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/hashslot"
	"github.com/redislua/redislua/internal/rediserr"
)

// go-redis's ClusterClient reads the error replies of every command, a
// script's included, and acts on some of them whatever the command's
// NoRetry says: it follows MOVED and ASK to the address the reply names,
// and sends the command again after READONLY (and, with ReadOnly set,
// LOADING). A script that returns such a reply of its own would then run
// again, on a node its reply chose. So Run puts a hook on every node
// client of a ClusterClient, which sees each reply before go-redis's
// redirection loop and holds back any such reply that the node did not
// send on its own: the loop then ends, and Run gives the caller the reply.

// errHeldReply takes the place of a held reply inside go-redis's
// redirection loop, with a text that none of its checks match. Run puts
// the reply back on the command before returning it.
var errHeldReply = errors.New("redislua: a script's error reply that go-redis would take for a cluster redirection, not followed")

// guards holds the clusterGuard of each ClusterClient that ran a script,
// by weak pointer: the entry goes when the client is garbage collected.
var guards sync.Map // weak.Pointer[redis.ClusterClient] -> *clusterGuard

// clusterGuard hooks the node clients of one ClusterClient.
type clusterGuard struct {
	mu     sync.Mutex
	swept  atomic.Bool
	hooked sync.Map // weak.Pointer[redis.Client] -> struct{}
}

// guardCluster makes sure that every node client of cc has the reply
// hook before a script runs on cc. The first call asks the cluster for its
// nodes (one CLUSTER SLOTS) to hook those cc created before; nodes created
// later get the hook from ClusterClient.OnNewNode. It fails only if the
// cluster cannot be asked, and then nothing is sent.
func guardCluster(ctx context.Context, cc *redis.ClusterClient) error {
	g := guardOf(cc)
	if g.swept.Load() {
		return nil
	}
	return g.sweep(ctx, cc)
}

// guardOf returns cc's guard, made and registered (OnNewNode) on first use.
func guardOf(cc *redis.ClusterClient) *clusterGuard {
	key := weak.Make(cc)
	v, ok := guards.Load(key)
	if !ok {
		var loaded bool
		v, loaded = guards.LoadOrStore(key, &clusterGuard{})
		if !loaded {
			cc.OnNewNode(v.(*clusterGuard).hookNode)
			runtime.AddCleanup(cc, func(k weak.Pointer[redis.ClusterClient]) { guards.Delete(k) }, key)
		}
	}
	return v.(*clusterGuard)
}

// sweep hooks the nodes cc knows, once it has succeeded.
func (g *clusterGuard) sweep(ctx context.Context, cc *redis.ClusterClient) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.swept.Load() {
		return nil
	}
	err := cc.ForEachShard(ctx, func(_ context.Context, node *redis.Client) error {
		g.hookNode(node)
		return nil
	})
	if err == nil {
		g.swept.Store(true)
	}
	return err
}

// hookNode adds the reply hook to a node client, unless it has it. The
// guard keeps weak pointers only, so that it keeps no client alive.
func (g *clusterGuard) hookNode(node *redis.Client) {
	if _, loaded := g.hooked.LoadOrStore(weak.Make(node), struct{}{}); !loaded {
		node.AddHook(replyHook{node: node})
	}
}

// replyHook is the hook on one node client. On a reply to a script command
// that go-redis's loop would act on, it asks the node whether the reply
// is its own (see isNodeRefusal): the node's reply goes on to the loop,
// a script's is held. A held command is never sent again.
type replyHook struct {
	node *redis.Client
}

func (h replyHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h replyHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		oc, ok := cmd.(*onceCmd)
		if !ok {
			return next(ctx, cmd)
		}
		if oc.held != nil {
			return errHeldReply
		}
		if oc.call != nil {
			oc.call.Addr = h.node.Options().Addr
		}
		err := next(ctx, cmd)
		if h.mustHold(ctx, oc, err, false) {
			oc.held = err
			return errHeldReply
		}
		return err
	}
}

// ProcessPipelineHook sees the replies of a ClusterClient pipeline only
// after go-redis queued their redirections: it marks the commands to hold
// and, when go-redis sends the redirected commands, leaves those out, with
// the ASKING before them. (The ClusterClient also sends a command that
// ASK redirected as a pipeline of ASKING and the command; there, a held
// reply is replaced in the pipeline's error, which its loop reads.)
func (h replyHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		send := withoutHeld(cmds)
		if len(send) == 0 {
			return nil
		}
		for _, cmd := range send {
			// A call sent after ASKING runs here, not on the node
			// that answered ASK.
			if oc, ok := cmd.(*onceCmd); ok && oc.call != nil {
				oc.call.Addr = h.node.Options().Addr
			}
		}
		err := next(ctx, send)
		for i, cmd := range send {
			oc, ok := cmd.(*onceCmd)
			asking := i > 0 && send[i-1].Name() == "asking"
			if !ok || !h.mustHold(ctx, oc, oc.Err(), asking) {
				continue
			}
			oc.held = oc.Err()
			if err != nil && errors.Is(err, oc.held) {
				err = errHeldReply
			}
		}
		return err
	}
}

// withoutHeld returns cmds without the held script commands and the ASKING
// go-redis put before each, and gives the held commands their reply back.
// It returns cmds itself when nothing is held.
func withoutHeld(cmds []redis.Cmder) []redis.Cmder {
	held := func(cmd redis.Cmder) bool {
		oc, ok := cmd.(*onceCmd)
		return ok && oc.held != nil
	}
	if !slices.ContainsFunc(cmds, held) {
		return cmds
	}
	send := make([]redis.Cmder, 0, len(cmds))
	for i, cmd := range cmds {
		if held(cmd) {
			cmd.(*onceCmd).SetErr(cmd.(*onceCmd).held)
			continue
		}
		if cmd.Name() == "asking" && i+1 < len(cmds) && held(cmds[i+1]) {
			continue
		}
		send = append(send, cmd)
	}
	return send
}

// mustHold reports whether err, the reply to oc, is one that go-redis's
// ClusterClient acts on and that the node did not send on its own; asking
// says that oc followed an ASKING.
func (h replyHook) mustHold(ctx context.Context, oc *onceCmd, err error, asking bool) bool {
	if err == nil || !followedByCluster(err) {
		return false
	}
	return !h.isNodeRefusal(ctx, oc, err.Error(), asking)
}

// followedByCluster reports whether go-redis's ClusterClient redirects or
// re-sends a command after err even when the command says NoRetry: the
// checks of its process loop (osscluster.go), in go-redis's own words.
func followedByCluster(err error) bool {
	if redis.IsReadOnlyError(err) || redis.IsLoadingError(err) {
		return true
	}
	if _, ok := redis.IsMovedError(err); ok {
		return true
	}
	_, ok := redis.IsAskError(err)
	return ok
}

// isNodeRefusal reports whether reply is the node's refusal to run oc
// rather than the reply of the script: the node refuses a probe, the same
// command with the same keys and flags whose script only returns 0, sent
// the same way (after ASKING if oc was), in the very same words. A
// script's reply cannot pass: the node ran the script, so it runs the
// probe too. A MOVED or ASK must also have the form Redis writes, for the
// slot of the command's first key; a script without keys is never
// redirected.
func (h replyHook) isNodeRefusal(ctx context.Context, oc *onceCmd, reply string, asking bool) bool {
	args := oc.Args()
	numKeys, _ := args[2].(int)
	if len(args) < 3+numKeys {
		return false
	}
	if strings.HasPrefix(reply, "MOVED") || strings.HasPrefix(reply, "ASK") {
		_, slot, _, ok := rediserr.Redirect(reply)
		if !ok || numKeys == 0 {
			return false
		}
		if first, _ := args[3].(string); slot != hashslot.Of(first) {
			return false
		}
	}
	probe := &probeCmd{Cmd: redis.NewCmd(ctx, probeArgs(oc, numKeys)...)}
	if asking {
		pipe := h.node.Pipeline()
		_ = pipe.Process(ctx, redis.NewCmd(ctx, "asking"))
		_ = pipe.Process(ctx, probe)
		_, _ = pipe.Exec(ctx)
	} else {
		_ = h.node.Process(ctx, probe)
	}
	perr := probe.Err()
	return perr != nil && perr.Error() == reply
}

// probeArgs returns an EVAL (EVAL_RO for the read-only commands) with
// oc's keys and a script with the same first line, flags included, as
// oc's script, that returns 0.
func probeArgs(oc *onceCmd, numKeys int) []any {
	args := oc.Args()
	name := cmdEval
	if args[0] == cmdEvalRO || args[0] == cmdEvalShaRO || args[0] == cmdFcallRO {
		name = cmdEvalRO
	}
	body := "return 0"
	if oc.fn != nil {
		body = oc.fn.probeHead() + "\n" + body
	} else if first, _, _ := strings.Cut(oc.script.src.Text, "\n"); strings.HasPrefix(first, "#!") {
		body = first + "\n" + body
	}
	probe := make([]any, 0, 3+numKeys)
	probe = append(probe, name, body, numKeys)
	return append(probe, args[3:3+numKeys]...)
}

// probeCmd is the probe of isNodeRefusal: never sent twice by go-redis,
// so that a node that is loading answers at once.
type probeCmd struct {
	*redis.Cmd
}

// NoRetry tells go-redis not to retry the probe.
func (*probeCmd) NoRetry() bool { return true }
