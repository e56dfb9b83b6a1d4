package lock

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// blackHole is a TCP proxy in front of a server that can stop forwarding:
// once Swallow is called, whatever either side sends is read and dropped,
// so a client's commands get no reply, as over a network that silently
// lost its route. Connections stay open, so only a timeout ends a call.
type blackHole struct {
	*redistest.Proxy
	swallow atomic.Bool
}

// newBlackHole starts a proxy to target on a free loopback port and stops
// it, closing every connection, in t.Cleanup.
func newBlackHole(t *testing.T, target string) *blackHole {
	t.Helper()
	p := &blackHole{}
	pass := func([]byte) bool { return !p.swallow.Load() }
	p.Proxy = redistest.StartProxy(t, target, func() (toServer, toClient redistest.Filter) { return pass, pass })
	return p
}

// Swallow stops forwarding in both directions, on open and new
// connections alike.
func (p *blackHole) Swallow() { p.swallow.Store(true) }

// scriptFault is a hook that fails the next `remaining` EVALSHA commands
// of script sha with err: without sending them, as a refused connection
// would, or, with afterSending, after they ran, as a connection lost
// before the reply would.
type scriptFault struct {
	sha          string
	err          error
	afterSending bool
	remaining    atomic.Int32
}

func (*scriptFault) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *scriptFault) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if len(args) < 2 || cmd.Name() != "evalsha" || args[1] != h.sha || h.remaining.Add(-1) < 0 {
			return next(ctx, cmd)
		}
		if h.afterSending {
			if err := next(ctx, cmd); err != nil {
				return err
			}
		}
		cmd.SetErr(h.err)
		return h.err
	}
}

func (*scriptFault) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// failAfterSending is a hook that lets a command whose first argument is
// name and second sha run, then reports err instead of its reply, as a
// connection lost after sending would.
type failAfterSending struct {
	name, sha string
	err       error
}

func (failAfterSending) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h failAfterSending) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if args := cmd.Args(); err == nil && len(args) > 1 && cmd.Name() == h.name && args[1] == h.sha {
			cmd.SetErr(h.err)
			return h.err
		}
		return err
	}
}

func (failAfterSending) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// replyError is a server error reply, as go-redis reports one.
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}
