// Package lock is a distributed mutual-exclusion lock on one Redis key, in
// the manner of bsm/redislock and Redisson's RLock, built on the redislua
// engine's public API: its scripts are the files in lua/lock, run like any
// other redislua.Script.
//
//	l, err := lock.New(rdb, "report:{2024-06}", &lock.Options{TTL: 10 * time.Second})
//	if err != nil {
//		return err // a nil client, an empty key or bad Options; nothing was sent
//	}
//	if err := l.Acquire(ctx); err != nil { // waits; matches ErrNotAcquired and ctx.Err() when ctx ends
//		return err
//	}
//	defer l.Release(ctx)
//	return store.Write(ctx, report, l.Fence()) // storage refuses fences older than the last it saw
//
// It works with *redis.Client (standalone or Sentinel), *redis.ClusterClient
// and *redis.Ring (see Client), on Redis 7 and on miniredis. Options is a
// struct, as in go-redis and in the rest of this module: nil means every
// default, and New checks every field before it returns.
//
// # What the lock promises
//
// One holder at a time, while the Redis master keeps its writes. The key
// holds a random token (128 bits from crypto/rand, new for each
// acquisition) with a TTL, so a crashed holder's lock expires by itself.
// Release, Refresh and TTL check the token in a script, so a holder whose
// lock expired cannot release or extend a later holder's lock: it gets
// ErrNotHeld.
//
// A local deadline. Each acquisition counts as lost at the start of the
// acquiring attempt, or of the last refresh that succeeded, plus the TTL
// it set, less a margin of TTL/100 + 2ms: Redlock's clock-drift allowance,
// 1% for a server clock that runs faster than this one and 2ms for a
// timer that fires late. A timer then closes Lost and calls
// Options.OnLost, even while a refresh call still waits for a reply, so
// the holder hears of the loss before the key can expire on the server
// and another holder take it. Options.AutoRefresh keeps moving the
// deadline by refreshing the TTL; an acquisition or refresh whose reply
// comes after its deadline does not count.
//
// Fences. Each acquisition gets Fence, an integer that increases strictly
// with each acquisition of the key, across all holders and over the whole
// int64 range, from a counter next to the key (FenceKey) that never
// expires. Pass the fence to the storage the lock protects and have it
// refuse a write with a smaller fence than one it has seen: that stops a
// holder that was paused past its deadline and writes late. A counter that
// cannot go higher refuses the acquisition (ErrFenceExhausted,
// ErrNotInteger) and the lock stays free. Options.NoFence leaves the
// counter out.
//
// Hand-off. Release deletes the key and publishes on a channel next to it
// in the same script; waiting Acquire calls subscribe, so a release hands
// the lock over at once. The waiters of one *redis.Client or
// *redis.ClusterClient share one pub/sub connection, open while any
// waits. A RetryStrategy polls as a fallback, and no wait outlasts the
// holder's remaining TTL.
//
// # What it does not promise
//
// The deadline holds while the process runs: a process paused past it (a
// stopped VM, a long garbage collection) hears of the loss late, and may
// write after another holder took the lock. Fences are the answer to that.
//
// The lock lives on one Redis master, and replication is asynchronous. If
// the master dies before an acquisition reaches the replica that replaces
// it, the acquisition and its fence increment are lost together: another
// holder gets the lock at once, with the same fence, and fences cannot
// tell the two apart. The first holder's deadline does not see this; its
// next refresh finds the key gone. Options.WaitReplicas narrows the
// window by waiting for replicas in the same round trip; it does not
// close it. Where two holders at once after a crash are unacceptable, a
// single Redis master is the wrong tool.
//
// docs/lock.md in the repository covers options, ACL rules and failover
// in more depth.
package lock
