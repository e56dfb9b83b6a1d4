// Package cas holds conditional writes on Redis string keys, each one
// atomic step: compare-and-swap, compare-and-delete, a compare-and-swap
// over many keys, and the fenced write that fencing tokens need.
//
//	ok, err := cas.Swap(ctx, rdb, "job:42", "pending", "active", nil)
//	ok, err = cas.Delete(ctx, rdb, "owner", token)
//	n, err := cas.SwapMany(ctx, rdb, []string{"{jobs}:1", "{jobs}:2"}, "pending", "active", nil)
//	ok, err = cas.FencedSet(ctx, rdb, "doc", body, lock.Fence())
//
// Each runs one Lua script (lua/cas/ in package lua) through the redislua
// engine, so NOSCRIPT is handled, errors name the script's file and line,
// and cross-slot keys are refused before anything is sent, on every
// client.
//
// # Guarantees
//
//   - Atomic: each call reads and writes in one script; nothing runs
//     between the compare and the write. SwapMany reads every key before
//     it writes any, so an error changes no key.
//   - Byte for byte: values are compared as bytes; "" is a value like any
//     other, and a missing key never matches, not even "".
//   - TTLs: without Options.TTL a write keeps the key's TTL (SET KEEPTTL,
//     Redis 6.0 or later); with it, every key written expires after it.
//     FencedSet keeps the TTL of both its keys.
//   - Fences: FencedSet accepts a fence at least the highest accepted so
//     far for the key, compared exactly over the whole int64 range, and
//     keeps that highest fence in FenceRecordKey(key), which never expires
//     by itself.
//   - Wrong types: a key of another type than a string fails the call with
//     a *redislua.ScriptError matching redislua.ErrWrongType, changing
//     nothing; a fence record holding a string that is not an integer is
//     ErrNotInteger, also changing nothing.
//   - Lost replies: the calls are not idempotent. After an error that
//     leaves the outcome unknown (a timeout, a dropped connection) the
//     write may have happened; a retried Swap then reports false, as the
//     key holds the new value: read the key to tell. FencedSet is safe to
//     retry with the same fence, which is accepted again.
//   - Failover: replication is asynchronous, so a failover can lose an
//     acknowledged write. The writes of one call (SwapMany's keys, a
//     fenced write and its fence) are kept or lost together.
//
// # Options
//
// Swap and SwapMany take a *Options, nil meaning the defaults: option
// structs are the module's one options style, as in go-redis, so that a
// zero value is always valid and every option is checked before anything
// is sent.
//
// See docs/cas.md for a longer walk through, and docs/keys.md for how
// fence records are named.
package cas
