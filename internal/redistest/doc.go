// Package redistest starts real redis-server processes for tests and
// benchmarks: standalone servers with [Start], TLS servers with [StartTLS],
// a master with replicas and Redis Sentinels with [StartSentinel], and
// Redis Clusters with [StartCluster] or, once per test binary,
// [SharedCluster]. Failover tests kill a master with [Server.Kill] and wait
// with [SentinelSetup.WaitForNewMaster] or [Cluster.WaitHealthy];
// [Server.CreateUser] and [Server.Config] set up ACL users and limits;
// [StartProxy] puts a TCP proxy that can drop or hold traffic in front.
//
// Every server listens on a free port of 127.0.0.1 only, keeps its files
// in a temporary directory, persists nothing (no RDB saves, no AOF)
// and runs in the foreground as a child of the test process, so the harness
// can stop it by pid. Servers started with a testing.TB are stopped in its
// Cleanup; the shared cluster is stopped by [Main], which a test package
// that uses it calls from TestMain:
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
//
// If redis-server (or, for clusters, redis-cli; for sentinels,
// redis-sentinel; for TLS, openssl) is not on PATH, tests that need it are
// skipped, unless the environment variable REDISLUA_REQUIRE_REDIS is set
// (to anything but "0" or "false"), in which case they fail: CI sets it so
// that a missing binary cannot pass silently.
package redistest
