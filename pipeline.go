package redislua

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/hashslot"
)

// OptimizePipelines installs a go-redis hook on c (a *redis.Client,
// *redis.ClusterClient or *redis.Ring) so that a pipeline or transaction
// sends each script's source at most once, and maps the errors of queued
// script commands as Run does outside pipelines. Call it once, when the
// client is created.
//
// Without the hook, Run queues a plain EVAL per call in a pipeline: always
// safe, but every call carries the whole source. With it, the first call of
// each script in a pipeline stays EVAL, which caches the script, and the
// later calls become EVALSHA, which the server runs after the EVAL on the
// same connection. No command is added, removed, re-sent or reordered, and a
// script cache flushed before or between pipelines cannot cause NOSCRIPT.
// On a ClusterClient "first" is per hash slot, and on a Ring per shard key,
// since go-redis splits those pipelines by node.
//
// What it cannot exclude: in a plain (non-transaction) pipeline, another
// client flushing the script cache (SCRIPT FLUSH) in the middle of it, or a
// cluster slot migrating to another node while it runs, can leave a later
// EVALSHA without its script. That command then fails with ErrNoScript
// and is not retried, since running it after the commands queued behind it
// would break the pipeline's order. A TxPipeline runs atomically, so there
// this cannot happen.
func OptimizePipelines(c interface{ AddHook(redis.Hook) }) error {
	if isNilClient(c) {
		return fmt.Errorf("%w: OptimizePipelines", ErrNilClient)
	}
	hook := pipelineHook{scope: wholePipeline}
	switch c.(type) {
	case *redis.ClusterClient:
		hook.scope = bySlot
	case *redis.Ring:
		hook.scope = byHashedPart
	}
	c.AddHook(hook)
	return nil
}

// scope says which calls of one script share a node in a pipeline.
type scope int

const (
	wholePipeline scope = iota // one server
	bySlot                     // Redis Cluster: one node per slot
	byHashedPart               // Ring: one shard per hashed key part
)

// pipelineHook rewrites repeated EVALs of a script in a pipeline to
// EVALSHA, and maps script errors after the pipeline ran.
type pipelineHook struct {
	scope scope
}

// sent is a script whose source a pipeline already carries to a node.
type sent struct {
	script *Script
	slot   int
	part   string
}

func (h pipelineHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h pipelineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h pipelineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var buf [16]sent
		seen := h.rewrite(cmds, buf[:0])
		err := next(ctx, cmds)
		if len(seen) > 0 {
			mapPipelineErrors(cmds, seen)
		}
		return err
	}
}

// rewrite turns every EVAL of a script already sent in the same scope into
// EVALSHA, in place, and returns the scripts sent.
func (h pipelineHook) rewrite(cmds []redis.Cmder, seen []sent) []sent {
	for _, cmd := range cmds {
		args := cmd.Args()
		if len(args) < 3 {
			continue
		}
		body, ok := args[1].(*scriptBody)
		if !ok {
			continue
		}
		key := sent{script: body.script}
		if h.scope != wholePipeline && len(args) > 3 {
			first, _ := args[3].(string)
			if h.scope == bySlot {
				key.slot = hashslot.Of(first)
			} else {
				key.part = hashslot.HashedPart(first)
			}
		}
		if !contains(seen, key) {
			seen = append(seen, key)
			continue
		}
		if args[0] == cmdEvalRO {
			args[0] = cmdEvalShaRO
		} else {
			args[0] = cmdEvalSha
		}
		args[1] = body.script.shaArg
	}
	return seen
}

func contains(seen []sent, key sent) bool {
	for _, s := range seen {
		if s == key {
			return true
		}
	}
	return false
}

// mapPipelineErrors gives the failed script commands of a pipeline the
// errors Run gives outside pipelines.
func mapPipelineErrors(cmds []redis.Cmder, seen []sent) {
	for _, cmd := range cmds {
		err := cmd.Err()
		var rerr redis.Error
		if err == nil || !errors.As(err, &rerr) {
			continue
		}
		if s := scriptOf(cmd.Args(), seen); s != nil {
			cmd.SetErr(s.mapError(err))
		}
	}
}

// scriptOf finds the script of a command the hook saw: by its source
// argument, or by the SHA1 it was rewritten to.
func scriptOf(args []any, seen []sent) *Script {
	if len(args) < 2 {
		return nil
	}
	switch p := args[1].(type) {
	case *scriptBody:
		return p.script
	case string:
		for _, s := range seen {
			if s.script.sha == p {
				return s.script
			}
		}
	}
	return nil
}
