package redislua

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// nodeHooks puts a serverHook on every node client of a ClusterClient or
// shard client of a Ring, once each: go-redis runs a node's hooks on the
// commands of a pipeline it has routed to that node, and again on the
// commands it redirects there (MOVED, ASK).
type nodeHooks struct {
	hooked sync.Map     // *redis.Client: struct{}; the nodes hooked
	count  atomic.Int64 // how many
}

// hook adds a serverHook to a node's client, unless it has one.
func (h *nodeHooks) hook(node *redis.Client) {
	if _, loaded := h.hooked.LoadOrStore(node, struct{}{}); !loaded {
		h.count.Add(1)
		node.AddHook(newServerHook(node))
	}
}

// clusterTx marks the context of a cluster transaction that the
// ClusterClient's hook has rewritten, for the node hooks to leave alone.
type clusterTx struct{}

// clusterHook is the ClusterClient's own hook.
type clusterHook struct {
	cc    *redis.ClusterClient
	nodes *nodeHooks
	swept atomic.Bool // the nodes created before the hook were looked for
	// tx rewrites transactions: go-redis sends one whole to a node, but
	// reads the replies of the commands given to the ClusterClient's hooks
	// (not of those its node hooks pass on), so a SCRIPT LOAD can only be
	// added here. Its probe loads the script on every node.
	tx *serverHook
}

// installClusterHooks hooks the nodes cc creates from now on, and has cc's
// own hook rewrite transactions, map errors and, at its first pipeline,
// hook the nodes cc created before (see sweep).
func installClusterHooks(cc *redis.ClusterClient) {
	h := &clusterHook{cc: cc, nodes: &nodeHooks{}, tx: &serverHook{}}
	h.tx.probe = func(ctx context.Context, s *Script) error { return s.Load(ctx, cc) }
	cc.OnNewNode(h.nodes.hook)
	cc.AddHook(h)
}

// sweep hooks the nodes that cc created before OptimizePipelines (if it
// ran commands before): OnNewNode does not reach them, and go-redis lists
// a cluster's nodes only after asking the cluster (one CLUSTER SLOTS), so
// this runs once, at the first pipeline, with its context. A pipeline to a
// node not hooked yet (one running alongside the first) sends EVAL for
// every call: slower, never wrong. If it fails, the next pipeline tries
// again.
func (h *clusterHook) sweep(ctx context.Context) {
	if h.swept.Load() || !h.swept.CompareAndSwap(false, true) {
		return
	}
	err := h.cc.ForEachShard(ctx, func(_ context.Context, node *redis.Client) error {
		h.nodes.hook(node)
		return nil
	})
	if err != nil {
		h.swept.Store(false)
	}
}

func (h *clusterHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *clusterHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *clusterHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.sweep(ctx)
		// The nodes' reply guard (cluster_guard.go), as Run has it: a
		// script's own MOVED/ASK/READONLY reply must not be followed. If
		// the cluster cannot be asked for its nodes, the pipeline fails
		// the same way below.
		_ = guardCluster(ctx, h.cc)
		if isTx(cmds) {
			b := h.tx.prepare(ctx, cmds)
			return h.tx.finish(b, next(context.WithValue(ctx, clusterTx{}, true), b.wire))
		}
		err := next(ctx, cmds)
		mapPipelineErrors(cmds) // again: commands that failed before reaching a node
		return execError(batch{cmds: cmds}, err)
	}
}

// ringHook is a Ring's own hook. go-redis routes a Ring pipeline's
// commands without keys by their name, so an EVAL and an EVALSHA of one
// script would reach different shards: the rewrite is left to the shard
// hooks, after routing.
type ringHook struct {
	ring  *redis.Ring
	nodes *nodeHooks
}

// installRingHooks hooks the Ring's shards, those it has and those it
// creates.
func installRingHooks(ring *redis.Ring) {
	h := &ringHook{ring: ring, nodes: &nodeHooks{}}
	ring.OnNewNode(h.nodes.hook)
	h.sweep()
	ring.AddHook(h)
}

// sweep hooks the shards that are up. GetShardClients lists only those, so
// a shard down when OptimizePipelines ran is hooked at the first pipeline
// after the Ring counts it up again; until then it gets plain EVAL.
func (h *ringHook) sweep() {
	for _, shard := range h.ring.GetShardClients() {
		h.nodes.hook(shard)
	}
}

func (h *ringHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *ringHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *ringHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if int64(h.ring.Len()) > h.nodes.count.Load() {
			h.sweep()
		}
		err := next(ctx, cmds)
		mapPipelineErrors(cmds)
		// The Ring returns the error of whichever shard finished first.
		return execError(batch{cmds: cmds}, err)
	}
}
