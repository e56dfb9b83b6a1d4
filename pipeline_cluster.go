package redislua

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// clusterHooks puts the rewriting hook on every node client of a
// ClusterClient, once each: go-redis runs a node's hooks on the commands
// of a pipeline it has routed to that node, and again on commands it
// redirects there (MOVED, ASK).
type clusterHooks struct {
	cc     *redis.ClusterClient
	hooked sync.Map    // *redis.Client: struct{}; the nodes hooked
	swept  atomic.Bool // the nodes created before the hook were looked for
}

// installClusterHooks hooks the nodes cc creates from now on, and has
// cc's own hook map errors and, at its first pipeline, hook the nodes cc
// created before (see sweep).
func installClusterHooks(cc *redis.ClusterClient) {
	h := &clusterHooks{cc: cc}
	cc.OnNewNode(h.hookNode)
	cc.AddHook(clusterPipelineHook{h})
}

// hookNode adds the rewriting hook to a node's client, unless it has it.
func (h *clusterHooks) hookNode(node *redis.Client) {
	if _, loaded := h.hooked.LoadOrStore(node, struct{}{}); !loaded {
		node.AddHook(pipelineHook{scope: wholePipeline})
	}
}

// sweep hooks the nodes that cc created before OptimizePipelines (if it
// ran commands before): OnNewNode does not reach them, and go-redis lists
// a cluster's nodes only after asking the cluster (one CLUSTER SLOTS), so
// this runs once, at the first pipeline, with its context. A pipeline to a
// node not hooked yet (one running alongside the first) sends EVAL for
// every call: slower, never wrong. If it fails, the next pipeline tries
// again.
func (h *clusterHooks) sweep(ctx context.Context) {
	if h.swept.Load() || !h.swept.CompareAndSwap(false, true) {
		return
	}
	err := h.cc.ForEachShard(ctx, func(_ context.Context, node *redis.Client) error {
		h.hookNode(node)
		return nil
	})
	if err != nil {
		h.swept.Store(false)
	}
}

// clusterPipelineHook is the ClusterClient's own hook: it leaves the
// rewriting to the node hooks and maps errors once go-redis has run
// every node's part, redirections included.
type clusterPipelineHook struct {
	h *clusterHooks
}

func (c clusterPipelineHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (c clusterPipelineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (c clusterPipelineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.h.sweep(ctx)
		return mapPipelineErrors(cmds, next(ctx, cmds))
	}
}
