package redislua

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/hashslot"
)

// OptimizePipelines installs a go-redis hook on c (a *redis.Client,
// *redis.ClusterClient or *redis.Ring) so that a pipeline or transaction
// sends each script's source at most once per node, and maps the errors of
// queued script commands (and Exec's, which is the first of them) as Run
// does outside pipelines. Call it once, when the client is created.
//
// Without the hook, Run queues a plain EVAL per call in a pipeline: always
// safe, but every call carries the whole source. With it, the first call of
// each script that a pipeline sends to a node stays EVAL, which caches the
// script there, and the later calls to that node become EVALSHA, which the
// node runs after the EVAL on the same connection. No command is added,
// removed, re-sent or reordered, and a script cache flushed before or
// between pipelines cannot cause NOSCRIPT.
//
// On a ClusterClient the rewrite runs in a hook on each node's client
// (ClusterClient.OnNewNode), on the commands go-redis has already routed
// to that node: "first" is per node whatever the keys' slots, and it always
// matches where the commands go, including reads that a ReadOnly client
// spreads over replicas, scripts without keys that go-redis spreads over
// masters, and commands redirected by MOVED or ASK. The client's first
// pipeline also asks the cluster for its nodes (one CLUSTER SLOTS), to hook
// those the client created before OptimizePipelines. On a Ring "first"
// is per hashed key, since go-redis routes a pipeline by key there.
//
// What it cannot exclude: in a plain (non-transaction) pipeline, another
// client flushing the script cache (SCRIPT FLUSH) in the middle of it can
// leave a later EVALSHA without its script. That command then fails with
// ErrNoScript and is not retried, since running it after the commands
// queued behind it would break the pipeline's order. A TxPipeline runs
// atomically, so there this cannot happen.
func OptimizePipelines(c interface{ AddHook(redis.Hook) }) error {
	if isNilClient(c) {
		return fmt.Errorf("%w: OptimizePipelines", ErrNilClient)
	}
	switch c := c.(type) {
	case *redis.ClusterClient:
		installClusterHooks(c)
	case *redis.Ring:
		c.AddHook(pipelineHook{scope: byHashedKey, mapErrors: true})
	default:
		c.AddHook(pipelineHook{scope: wholePipeline, mapErrors: true})
	}
	return nil
}

// scope says which script commands of a pipeline reach the same server.
type scope int

const (
	wholePipeline scope = iota // one server: a client, or a cluster node's client
	byHashedKey                // Ring: one shard per hashed part of the first key
)

// pipelineHook rewrites repeated EVALs of a script in a pipeline to
// EVALSHA, and maps script errors after the pipeline ran.
type pipelineHook struct {
	scope     scope
	mapErrors bool
}

// sent is a script whose source a pipeline already carries to a server.
type sent struct {
	script *Script
	part   string // the first key's hashed part, on a Ring
}

func (h pipelineHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h pipelineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h pipelineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var buf [16]sent
		h.rewrite(cmds, buf[:0])
		err := next(ctx, cmds)
		if h.mapErrors {
			err = mapPipelineErrors(cmds, err)
		}
		return err
	}
}

// rewrite makes the first command of each script in the scope an EVAL and
// every later one an EVALSHA, in place. It may see a command twice (go-redis
// sends commands redirected by MOVED or ASK through a node's hooks again,
// with the commands redirected with them), so it sets both forms.
func (h pipelineHook) rewrite(cmds []redis.Cmder, seen []sent) {
	for _, cmd := range cmds {
		args := cmd.Args()
		s := scriptOf(args)
		if s == nil {
			continue
		}
		key := sent{script: s}
		if h.scope == byHashedKey && len(args) > 3 {
			// Without keys, part stays "": the Ring sends all of a
			// pipeline's commands without keys to one shard.
			first, _ := args[3].(string)
			key.part = hashslot.HashedPart(first)
		}
		readOnly := args[0] == cmdEvalRO || args[0] == cmdEvalShaRO
		if !slices.Contains(seen, key) {
			seen = append(seen, key)
			args[0], args[1] = cmdEval, s.bodyArg
			if readOnly {
				args[0] = cmdEvalRO
			}
			continue
		}
		args[0], args[1] = cmdEvalSha, s.shaRefArg
		if readOnly {
			args[0] = cmdEvalShaRO
		}
	}
}

// mapPipelineErrors gives the failed script commands of a pipeline the
// errors Run gives outside pipelines, and returns execErr, the pipeline's
// error (go-redis's is its first failed command's), mapped the same way
// when it is one of them, so that Exec's error matches cmd.Err().
func mapPipelineErrors(cmds []redis.Cmder, execErr error) error {
	replaced := false
	for _, cmd := range cmds {
		err := cmd.Err()
		var rerr redis.Error
		if err == nil || !errors.As(err, &rerr) {
			continue
		}
		s := scriptOf(cmd.Args())
		if s == nil {
			continue
		}
		mapped := s.mapError(err)
		cmd.SetErr(mapped)
		if !replaced && execErr != nil && errors.Is(execErr, err) {
			execErr, replaced = mapped, true
		}
	}
	return execErr
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
