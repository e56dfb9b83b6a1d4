// Package redisluaotel reports the script and Function calls of
// github.com/redislua/redislua to OpenTelemetry: one span and one duration
// measurement per logical call, named after the script, plus counters of
// fallbacks and errors and the lock and rate-limit events of the prebuilt
// packages. It is its own Go module, so that the library itself does not
// depend on OpenTelemetry.
//
// One call wires a client:
//
//	rdb := redis.NewClient(&redis.Options{Addr: addr})
//	if err := redisluaotel.Instrument(rdb, nil); err != nil { ... } // global providers
//
// A span follows the database semantic conventions: named
// "EVALSHA counters/incr.lua" (the first command and the script), kind
// client, with db.system.name, db.operation.name, db.stored_procedure.name,
// server.address and server.port, and, on failure, error.type and
// db.response.status_code. A NOSCRIPT fallback (the EVAL Run sends after
// EVALSHA) is an event on the call's span, redislua.fallback, not a second
// span. A pipeline or transaction that carries scripts is one span,
// "PIPELINE" or "MULTI", listing them in redislua.scripts. Spans never
// hold a script's source, its keys or its arguments.
//
// go-redis's own instrumentation (redisotel) can run beside it on the same
// client: its per-command spans nest under the call's span, and its
// metrics have other names. docs/observability.md in the repository lists
// every metric and attribute.
package redisluaotel
