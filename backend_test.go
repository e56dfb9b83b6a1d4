package redislua

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// backend is one server the behaviour tests run against.
type backend struct {
	name   string
	client *redis.Client
	// real is true for redis-server, false for miniredis. Where the two
	// differ, the test says so and checks real Redis.
	real bool
	// sent records the names of the commands the client sends.
	sent *recorder
}

// forEachBackend runs fn against an embedded miniredis and against a real
// redis-server started by the harness, each with a fresh server.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	t.Run("miniredis", func(t *testing.T) {
		m := miniredis.RunT(t)
		fn(t, newBackend(t, "miniredis", m.Addr(), false))
	})
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		fn(t, newBackend(t, "redis", srv.Addr, true))
	})
}

// realRedis returns a backend on a real redis-server, for behaviour
// miniredis does not have.
func realRedis(t *testing.T) backend {
	t.Helper()
	srv := redistest.Start(t)
	return newBackend(t, "redis", srv.Addr, true)
}

func newBackend(t *testing.T, name, addr string, real bool) backend {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	rec := &recorder{}
	c.AddHook(rec)
	return backend{name: name, client: c, real: real, sent: rec}
}

// recorder is a go-redis hook that records the name of every command sent,
// alone or in a pipeline, except connection handshakes.
type recorder struct {
	mu    sync.Mutex
	names []string
}

func (r *recorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *recorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.add(cmd)
		return next(ctx, cmd)
	}
}

func (r *recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			r.add(cmd)
		}
		return next(ctx, cmds)
	}
}

func (r *recorder) add(cmd redis.Cmder) {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
		return // a new connection's handshake
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names = append(r.names, strings.ToLower(cmd.Name()))
}

// take returns the names recorded since the last call and forgets them.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.names
	r.names = nil
	return out
}

// count returns how many of the recorded names equal name.
func count(names []string, name string) int {
	n := 0
	for _, s := range names {
		if s == name {
			n++
		}
	}
	return n
}

// forMiniredis returns a backend on an embedded miniredis, for tests of
// what happens before anything is sent.
func forMiniredis(t *testing.T) backend {
	t.Helper()
	m := miniredis.RunT(t)
	return newBackend(t, "miniredis", m.Addr(), false)
}

// sharedCluster returns a client of the 3-master, 3-replica Redis Cluster
// that this package's tests share (started once, stopped by TestMain).
// Tests using it must use their own keys.
func sharedCluster(t *testing.T) *redis.ClusterClient {
	t.Helper()
	return redistest.SharedCluster(t).Client(t)
}
