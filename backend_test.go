package redislua

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/testbackend"
)

// backend is one server the behaviour tests run against (see
// internal/testbackend).
type backend struct {
	name   string
	client *redis.Client
	// real is true for redis-server, false for miniredis. Where the two
	// differ, the test says so and checks real Redis.
	real bool
	// sent records the names of the commands the client sends.
	sent *testbackend.Recorder
}

func fromTestBackend(b testbackend.Backend) backend {
	return backend{name: b.Name, client: b.Client, real: b.Real, sent: b.Sent}
}

// forEachBackend runs fn against an embedded miniredis and against a real
// redis-server started by the harness, each with a fresh server.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) { fn(t, fromTestBackend(b)) })
}

// realRedis returns a backend on a real redis-server, for behaviour
// miniredis does not have.
func realRedis(t *testing.T) backend { return fromTestBackend(testbackend.Real(t)) }

// forMiniredis returns a backend on an embedded miniredis, for tests of
// what happens before anything is sent.
func forMiniredis(t *testing.T) backend { return fromTestBackend(testbackend.Miniredis(t)) }

func newBackend(t *testing.T, name, addr string, real bool) backend {
	return fromTestBackend(testbackend.Open(t, name, addr, real))
}

// count returns how many of the recorded names equal name.
func count(names []string, name string) int { return testbackend.Count(names, name) }

// sharedCluster returns a client of the 3-master, 3-replica Redis Cluster
// that this package's tests share (started once, stopped by TestMain).
// Tests using it must use their own keys.
func sharedCluster(t *testing.T) *redis.ClusterClient { return testbackend.SharedCluster(t) }
