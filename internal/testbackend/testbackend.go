// Package testbackend gives tests the servers they run against: an
// embedded miniredis and a real redis-server (started through
// internal/redistest), each with a client that records what it sends.
// Behaviour that differs between the two is tested on real Redis, and the
// test says so.
package testbackend

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// Backend is one server a test runs against.
type Backend struct {
	Name   string
	Client *redis.Client
	// Real is true for redis-server, false for miniredis.
	Real bool
	// Sent records the names of the commands Client sends.
	Sent *Recorder
}

// ForEach runs fn against an embedded miniredis and against a real
// redis-server, each a fresh server, as subtests "miniredis" and "redis".
func ForEach(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Helper()
	t.Run("miniredis", func(t *testing.T) { fn(t, Miniredis(t)) })
	t.Run("redis", func(t *testing.T) { fn(t, Real(t)) })
}

// Real returns a Backend on a fresh redis-server.
func Real(t *testing.T) Backend {
	t.Helper()
	srv := redistest.Start(t)
	return Open(t, "redis", srv.Addr, true)
}

// Miniredis returns a Backend on a fresh embedded miniredis.
func Miniredis(t *testing.T) Backend {
	t.Helper()
	m := miniredis.RunT(t)
	return Open(t, "miniredis", m.Addr(), false)
}

// Open returns a Backend on the server at addr, whose client t closes.
func Open(t *testing.T, name, addr string, real bool) Backend {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	rec := &Recorder{}
	c.AddHook(rec)
	return Backend{Name: name, Client: c, Real: real, Sent: rec}
}

// SharedCluster returns a new client of the 3-master, 3-replica Redis
// Cluster that a test binary shares (started on first use; the package's
// TestMain must call redistest.Main). Tests using it use their own keys.
func SharedCluster(t *testing.T) *redis.ClusterClient {
	t.Helper()
	return redistest.SharedCluster(t).Client(t)
}

// Recorder is a go-redis hook that records the lower-case name of every
// command sent, alone or in a pipeline, except connection handshakes.
type Recorder struct {
	mu    sync.Mutex
	names []string
}

// DialHook passes dials through.
func (r *Recorder) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook records cmd.
func (r *Recorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.add(cmd)
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook records each command of the pipeline.
func (r *Recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			r.add(cmd)
		}
		return next(ctx, cmds)
	}
}

func (r *Recorder) add(cmd redis.Cmder) {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
		return // a new connection's handshake
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names = append(r.names, strings.ToLower(cmd.Name()))
}

// Take returns the names recorded since the last call and forgets them.
func (r *Recorder) Take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.names
	r.names = nil
	return out
}

// Seen returns how many commands named name were recorded since the last
// Take, without forgetting them.
func (r *Recorder) Seen(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Count(r.names, name)
}

// Count returns how many of names equal name.
func Count(names []string, name string) int {
	n := 0
	for _, s := range names {
		if s == name {
			n++
		}
	}
	return n
}

// ServerAndCluster returns a client of a fresh redis-server ("redis") and
// one of the shared cluster ("cluster"), for tests that must hold on both.
func ServerAndCluster(t *testing.T) map[string]redis.UniversalClient {
	t.Helper()
	return map[string]redis.UniversalClient{
		"redis":   Real(t).Client,
		"cluster": SharedCluster(t),
	}
}

// AutoPipelined runs fn, as subtests "redis" and "cluster", with the
// AutoPipeliner (go-redis's experimental batching client, made by
// AutoPipeline) of a fresh redis-server's client and of a shared-cluster
// client, and with that client.
func AutoPipelined(t *testing.T, fn func(t *testing.T, ap *redis.AutoPipeliner, c redis.UniversalClient)) {
	t.Helper()
	t.Run("redis", func(t *testing.T) {
		c := Real(t).Client
		ap, err := c.AutoPipeline()
		if err != nil {
			t.Fatalf("AutoPipeline: %v", err)
		}
		t.Cleanup(func() { _ = ap.Close() })
		fn(t, ap, c)
	})
	t.Run("cluster", func(t *testing.T) {
		c := SharedCluster(t)
		ap, err := c.AutoPipeline()
		if err != nil {
			t.Fatalf("AutoPipeline: %v", err)
		}
		t.Cleanup(func() { _ = ap.Close() })
		fn(t, ap, c)
	})
}
