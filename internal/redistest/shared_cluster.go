package redistest

import (
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// mainRunning is set by Main, which stops the shared cluster after the tests.
var mainRunning atomic.Bool

// shared is the cluster SharedCluster starts once per test binary.
var shared struct {
	mu      sync.Mutex
	started bool // a start was attempted; err says how it went
	dir     string
	cluster *Cluster
	err     error
}

// SharedCluster returns a cluster of 3 masters with one replica each,
// started by the first call in the test binary and stopped by Main after
// all tests, so that a package's tests pay for one cluster. If starting
// fails, every caller fails with the same error.
//
// The cluster is shared: tests must use their own keys and must not stop,
// kill or reconfigure its nodes (start a cluster of their own for that).
// SharedCluster fails tb unless TestMain calls Main.
func SharedCluster(tb testing.TB) *Cluster {
	tb.Helper()
	if !mainRunning.Load() {
		tb.Fatal("redistest: SharedCluster needs TestMain to call redistest.Main(m), which stops the cluster after the tests")
	}
	requireCluster(tb)

	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.started {
		shared.started = true
		shared.dir, shared.err = os.MkdirTemp("", "redistest-shared-")
		if shared.err == nil {
			shared.cluster, shared.err = startCluster(shared.dir, &ClusterOptions{ReplicasPerMaster: 1})
		}
	}
	if shared.err != nil {
		tb.Fatalf("redistest: shared cluster: %v", shared.err)
	}
	return shared.cluster
}

// Main runs the tests, stops the shared cluster if one was started, removes
// its directory and exits with the tests' code. Call it from TestMain:
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	stopShared()
	os.Exit(code)
}

// stopShared stops the shared cluster and removes its directory.
func stopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.cluster != nil {
		shared.cluster.Stop()
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
	shared.started, shared.dir, shared.cluster, shared.err = false, "", nil, nil
}
