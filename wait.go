package redislua

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redislua/redislua/internal/rediserr"
)

// Errors of RunAndWait and of the primitives' replica options.
var (
	// ErrTooFewReplicas means a script ran, and its writes are on the
	// master, but fewer replicas than asked acknowledged them in time. See
	// *ReplicaError.
	ErrTooFewReplicas = errors.New("redislua: too few replicas acknowledged the write")
	// ErrInvalidReplicas means a Replicas value asks for no replica, or has
	// a timeout under 1ms or not below the client's ReadTimeout.
	ErrInvalidReplicas = errors.New("redislua: invalid Replicas")
	// ErrWaitUnsupported means waiting for replicas was asked of a client on
	// which the WAIT cannot follow the script on the same connection: a
	// *redis.Ring, a pipeline, a custom client, or a keyless script on a
	// cluster.
	ErrWaitUnsupported = errors.New("redislua: cannot wait for replicas on this client")
)

// Replicas asks that a script's writes reach replicas before the call
// returns, with Redis's WAIT. The zero value asks for nothing.
//
// WAIT narrows, but does not close, what a failover can lose: Redis
// replicates asynchronously, and a write acknowledged by N replicas can
// still be lost if the master fails and a replica without it is promoted
// (Sentinel and Cluster pick the most up to date replica they can reach).
type Replicas struct {
	// N is how many replicas must acknowledge the writes.
	N int
	// Timeout is how long to wait for them: at least 1ms, and below the
	// client's ReadTimeout, which bounds the reply.
	Timeout time.Duration
}

// ReplicaError is a script that ran, and whose writes are applied on the
// master, but that fewer than Want replicas acknowledged within the
// timeout. The writes may still reach the replicas later, or be lost if the
// master fails before they do. errors.Is(err, ErrTooFewReplicas) holds.
type ReplicaError struct {
	// Script is the script's name.
	Script string
	// Want is the number of replicas asked for; Acked how many answered.
	Want, Acked int
}

// Error reads like "redislua: script lock/acquire: 0 of 1 replicas
// acknowledged the write".
func (e *ReplicaError) Error() string {
	return fmt.Sprintf("redislua: script %s: %d of %d replicas acknowledged the write", e.Script, e.Acked, e.Want)
}

// Is reports whether target is ErrTooFewReplicas.
func (e *ReplicaError) Is(target error) bool { return target == ErrTooFewReplicas }

// RunAndWait runs the script as Run does and then waits until r.N
// replicas have acknowledged its writes, or r.Timeout passed: the script
// and a WAIT go out in one pipeline on one connection (WAIT counts the
// writes of its own connection), so it costs one round trip plus the
// replicas' delay. With a zero r it is Run.
//
// The script's reply and error are on the returned command, mapped as Run
// maps them; NOSCRIPT is recovered by sending both again with EVAL. The
// error returned beside it says what became of the writes when the script
// succeeded (a nil reply, redis.Nil on the command, included): nil when r.N replicas acknowledged them, a *ReplicaError when
// fewer did (the writes stand on the master), or the WAIT's own error,
// after the script ran: an ACL user needs +wait, or every call runs the
// script and then fails with an error matching ErrNoPerm. When the script
// failed, it is that error too.
//
// c must be a *redis.Client (standalone, or a Sentinel failover client) or
// a *redis.ClusterClient, on which the script goes to the master of its
// first key's slot, or an *redis.AutoPipeliner made from either: the
// script and the WAIT then go on that client, in a pipeline of their own
// and not in the AutoPipeliner's batches (WAIT counts the writes of its own
// connection, and the AutoPipeliner sends WAIT apart from its batches).
// Anything else is ErrWaitUnsupported, and a bad r is
// ErrInvalidReplicas, both before anything is sent. During a cluster
// resharding the call may fail with the node's MOVED or ASK reply, which is
// not followed: the script did not run then (unless it returned such a text
// itself, which a script must not do: see Run).
func (s *Script) RunAndWait(ctx context.Context, c redis.Scripter, r Replicas, keys []string, args ...any) (*redis.Cmd, error) {
	if r == (Replicas{}) {
		cmd := s.Run(ctx, c, keys, args...)
		return cmd, cmd.Err()
	}
	c = clientOf(c) // the script and WAIT share a pipeline of their own
	o := observerOf(c)
	if o == nil {
		return s.runAndWait(ctx, c, r, keys, args, nil)
	}
	call := newCall(Call{Name: s.name, Command: s.firstCommand(), Keys: len(keys), Start: time.Now()})
	ctx = startCall(ctx, o, call)
	cmd, err := s.runAndWait(ctx, c, r, keys, args, call)
	endCall(ctx, o, call, err)
	return cmd, err
}

// runAndWait is RunAndWait with a non-zero r, observed by call when it is
// not nil.
func (s *Script) runAndWait(ctx context.Context, c redis.Scripter, r Replicas, keys []string, args []any, call *Call) (*redis.Cmd, error) {
	flat, known := flatArgs(args)
	err := s.checkCall(c, keys, flat, known)
	if err == nil {
		err = r.checkFor(c)
	}
	var client *redis.Client
	if err == nil {
		client, err = s.waitClient(ctx, c, keys)
	}
	if err != nil {
		return failedCmd(ctx, s.sha, err), err
	}
	if call != nil {
		call.Addr = client.Options().Addr
	}
	cmd, wait := s.pipeWithWait(ctx, client, cmdEvalSha, r, keys, args, call)
	if isNoScript(cmd.Err()) {
		if call != nil {
			call.FallbackAt = time.Now()
		}
		cmd, wait = s.pipeWithWait(ctx, client, cmdEval, r, keys, args, call)
	}
	s.finish(ctx, cmd)
	if err := cmd.Err(); err != nil && err != redis.Nil { // a nil reply is a success
		return cmd, err
	}
	acked, err := wait.Result()
	if err != nil {
		return cmd, s.waitError(err)
	}
	if int(acked) < r.N {
		return cmd, &ReplicaError{Script: s.name, Want: r.N, Acked: int(acked)}
	}
	return cmd, nil
}

// waitError is the error of a WAIT that followed the script's success:
// the script ran. A refusal of WAIT itself (an ACL user without +wait)
// matches its sentinel, ErrNoPerm, as a refusal inside a script does.
func (s *Script) waitError(err error) error {
	var rerr redis.Error
	if errors.As(err, &rerr) {
		if kind := kindSentinel(rediserr.Parse(rerr.Error()).Kind); kind != nil {
			return fmt.Errorf("redislua: script %s ran; waiting for replicas: %w: %w", s.name, kind, err)
		}
	}
	return fmt.Errorf("redislua: script %s ran; waiting for replicas: %w", s.name, err)
}

// Check reports whether RunAndWait can wait for r on client c, without
// sending anything: ErrWaitUnsupported unless c is a *redis.Client or a
// *redis.ClusterClient (or an *redis.AutoPipeliner made from one), ErrInvalidReplicas when r.N is under 1 or
// r.Timeout is under 1ms or not below c's ReadTimeout. RunAndWait makes
// this check on every call; a constructor that takes a Replicas option
// can make it once, up front. The zero Replicas asks for nothing and is
// not checked by RunAndWait, but Check refuses it too.
func (r Replicas) Check(c redis.Scripter) error { return r.checkFor(c) }

// checkFor validates r for client c: a *redis.Client or a
// *redis.ClusterClient, whose ReadTimeout bounds r.Timeout.
func (r Replicas) checkFor(c redis.Scripter) error {
	var readTimeout time.Duration // 0 or less: replies never time out
	switch c := clientOf(c).(type) {
	case *redis.Client:
		readTimeout = c.Options().ReadTimeout
	case *redis.ClusterClient:
		readTimeout = c.Options().ReadTimeout
	default:
		return fmt.Errorf("%w: %T", ErrWaitUnsupported, c)
	}
	switch {
	case r.N < 1:
		return fmt.Errorf("%w: N is %d, want at least 1", ErrInvalidReplicas, r.N)
	case r.Timeout < time.Millisecond:
		return fmt.Errorf("%w: Timeout %v is under 1ms (WAIT 0 would wait forever)", ErrInvalidReplicas, r.Timeout)
	case readTimeout > 0 && r.Timeout >= readTimeout:
		return fmt.Errorf("%w: Timeout %v is not below the client's ReadTimeout %v, which would end the reply first", ErrInvalidReplicas, r.Timeout, readTimeout)
	}
	return nil
}

// waitClient returns the client whose pipeline reaches the master that
// runs the script on keys.
func (s *Script) waitClient(ctx context.Context, c redis.Scripter, keys []string) (*redis.Client, error) {
	switch c := c.(type) {
	case *redis.Client:
		return c, nil
	case *redis.ClusterClient:
		if len(keys) == 0 {
			return nil, fmt.Errorf("%w: script %s has no key to choose a cluster master by", ErrWaitUnsupported, s.name)
		}
		node, err := c.MasterForKey(ctx, keys[0])
		if err != nil {
			// The slot, not the key: the error reaches observers' spans,
			// which hold no key.
			return nil, fmt.Errorf("redislua: script %s: finding the master of slot %d: %w", s.name, Slot(keys[0]), err)
		}
		return node, nil
	}
	return nil, fmt.Errorf("%w: %T (script %s)", ErrWaitUnsupported, c, s.name) // checkFor refused it already
}

// pipeWithWait sends the script (EVALSHA or EVAL, as name says) and a WAIT
// in one pipeline on client; call is the observed call, or nil.
func (s *Script) pipeWithWait(ctx context.Context, client *redis.Client, name string, r Replicas, keys []string, args []any, call *Call) (*redis.Cmd, *redis.IntCmd) {
	if s.readOnly {
		name += "_ro"
	}
	pipe := client.Pipeline()
	cmd := send(ctx, pipe, name, s, keys, args, call)
	wait := redis.NewIntCmd(ctx, "wait", r.N, r.Timeout.Milliseconds())
	_ = pipe.Process(ctx, wait)
	_, _ = pipe.Exec(ctx) // the errors are on the commands
	return cmd, wait
}
