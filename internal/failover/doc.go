// Package failover tests the script engine and the prebuilt primitives
// while a Redis master dies under load: behind Redis Sentinel (a master, a
// replica, three sentinels) and in a Redis Cluster with a replica per
// master. It holds only tests; they use the module's public API and start
// their own servers through internal/redistest, so they run in parallel.
//
// A promoted replica starts with an empty script cache (Redis replicates a
// script's effects, not the script), so every test also checks that the
// caller never sees NOSCRIPT. Redis Functions libraries, which replicate,
// are tested the same way, and across a restart without persistence,
// which loses them. Each test reads as four steps: set up the
// servers and clients, start the load, cause the fault, verify.
package failover
