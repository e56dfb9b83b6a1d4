package cas

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/prebuilt"
)

// The scripts, resolved once.
var (
	swapScript      = prebuilt.Script("cas/swap")
	deleteScript    = prebuilt.Script("cas/delete")
	swapManyScript  = prebuilt.Script("cas/swap_many")
	fencedSetScript = prebuilt.Script("cas/fenced_set")
)

// Errors of the package's calls.
var (
	// ErrNotInteger means FencedSet's fence record holds a string that is
	// not a decimal int64; nothing was written.
	ErrNotInteger = errors.New("cas: fence record is not an integer")
	// ErrInvalidTTL means Options.TTL is negative, or positive but under
	// one millisecond, the smallest Redis keeps.
	ErrInvalidTTL = errors.New("cas: invalid TTL")
)

// Options tunes Swap and SwapMany. A nil *Options means the zero value.
type Options struct {
	// TTL, when not zero, sets the time to live of every key written, in
	// whole milliseconds (rounded down); it must be at least 1ms, or the
	// call fails with ErrInvalidTTL before anything is sent. Zero keeps
	// each key's TTL as it was, with SET's KEEPTTL (Redis 6.0 or later): a
	// swap changes the value, not when the key expires.
	TTL time.Duration
}

// ttlArg returns the TTL argument of the swap scripts: milliseconds, or ""
// to keep the TTL.
func (o *Options) ttlArg() (string, error) {
	if o == nil || o.TTL == 0 {
		return "", nil
	}
	return prebuilt.Millis(o.TTL, ErrInvalidTTL)
}

// Swap sets key to desired only if it holds expected, in one atomic step,
// and reports whether it did. A missing key never matches, not even an
// expected "". Values are compared byte for byte, so any bytes work, and
// "" is a value like any other.
//
// Without opts.TTL the key keeps its TTL (or lack of one); with it, the
// key expires after opts.TTL. A key of another type than a string fails
// with a *redislua.ScriptError matching redislua.ErrWrongType, changing
// nothing. c must be neither nil (redislua.ErrNilClient) nor a pipeline
// (redislua.ErrPipeline): the answer is needed now. An empty key is
// redislua.ErrEmptyKey, a name of the library's own form (docs/keys.md)
// redislua.ErrReservedKey, a bad TTL ErrInvalidTTL; nothing is sent then.
//
// Swap is not idempotent: after an error that leaves the outcome unknown
// (a timeout, a lost connection) the swap may have happened, and a retry
// then reports false, as the key holds desired; read the key to tell.
// Replication is asynchronous: a failover can lose an acknowledged swap.
func Swap(ctx context.Context, c redis.Scripter, key, expected, desired string, opts *Options) (bool, error) {
	if err := prebuilt.CheckDirectClient(c, "cas.Swap"); err != nil {
		return false, err
	}
	if err := prebuilt.CheckKey(key, "cas.Swap key"); err != nil {
		return false, err
	}
	ttl, err := opts.ttlArg()
	if err != nil {
		return false, err
	}
	n, err := swapScript.Run(ctx, c, []string{key}, expected, desired, ttl).Int64()
	return n == 1, err
}

// Delete deletes key only if it holds expected, in one atomic step, and
// reports whether it did: release something only while it is still yours.
// A missing key never matches; a key of another type is
// redislua.ErrWrongType. c must be neither nil nor a pipeline; an empty key
// is redislua.ErrEmptyKey, a reserved one redislua.ErrReservedKey. Lost
// replies and failovers are as for Swap.
func Delete(ctx context.Context, c redis.Scripter, key, expected string) (bool, error) {
	if err := prebuilt.CheckDirectClient(c, "cas.Delete"); err != nil {
		return false, err
	}
	if err := prebuilt.CheckKey(key, "cas.Delete key"); err != nil {
		return false, err
	}
	n, err := deleteScript.Run(ctx, c, []string{key}, expected).Int64()
	return n == 1, err
}

// SwapMany sets every key that holds expected to desired, in one atomic
// step, and returns how many it set: a bulk conditional update such as
// moving every listed job from "pending" to "active". Missing keys and keys
// holding anything else are left alone; a key listed twice counts once.
// opts applies to every key set, as in Swap.
//
// All keys must hash to one slot (give them a shared hash tag such as
// "{jobs}:42"), on every client: otherwise the call fails with a
// *redislua.CrossSlotError before anything is sent. If any key holds
// another type than a string, the call fails with redislua.ErrWrongType
// and no key changes. No keys is 0 and nil, with nothing sent; an empty
// key is redislua.ErrEmptyKey, a reserved one redislua.ErrReservedKey.
// Lost replies and failovers are as for Swap: the swaps of one call are
// lost or kept together.
func SwapMany(ctx context.Context, c redis.Scripter, keys []string, expected, desired string, opts *Options) (int, error) {
	if err := prebuilt.CheckDirectClient(c, "cas.SwapMany"); err != nil {
		return 0, err
	}
	for i, k := range keys {
		if err := prebuilt.CheckKey(k, "cas.SwapMany keys["+strconv.Itoa(i)+"]"); err != nil {
			return 0, err
		}
	}
	ttl, err := opts.ttlArg()
	if err != nil {
		return 0, err
	}
	if len(keys) == 0 {
		return 0, nil
	}
	n, err := swapManyScript.Run(ctx, c, keys, expected, desired, ttl).Int64()
	return int(n), err
}

// FencedSet writes value to key only if fence is at least the highest
// fence accepted for key so far, and reports whether it wrote. It is the
// storage side of fencing tokens: give it the fence of the lock under which
// the value was computed, and a client that paused past its lock's expiry
// cannot overwrite what a later lock holder (with a higher fence) wrote.
// An equal fence is accepted, so one holder may write several times.
// Fences are compared exactly over the whole int64 range.
//
// The highest fence lives in a second key in key's hash slot,
// FenceRecordKey(key). It never expires by itself; delete it with the data
// once no stale writer can remain. Both keys keep their TTL, if any. If
// key holds another type than a string, FencedSet fails with a
// *redislua.ScriptError matching redislua.ErrWrongType; if the record
// holds a string other than an integer, with ErrNotInteger (another type:
// redislua.ErrWrongType); either way it writes nothing. c must be neither
// nil nor a pipeline; an empty key is redislua.ErrEmptyKey, a reserved one
// redislua.ErrReservedKey.
//
// A write and its fence are kept or lost together: a failover that loses
// an acknowledged write (replication is asynchronous) loses its fence too,
// and the record then accepts the lower fences that the write had shut
// out. A retry after an unknown outcome with the same fence is safe: an
// equal fence is accepted again.
//
// The data key must not be a lock's key: the lock keeps its token there,
// and FencedSet would overwrite it. Lock "lock:doc" and write "doc".
func FencedSet(ctx context.Context, c redis.Scripter, key, value string, fence int64) (bool, error) {
	if err := prebuilt.CheckDirectClient(c, "cas.FencedSet"); err != nil {
		return false, err
	}
	if err := prebuilt.CheckKey(key, "cas.FencedSet key"); err != nil {
		return false, err
	}
	record := FenceRecordKey(key)
	n, err := fencedSetScript.Run(ctx, c, []string{key, record}, value, strconv.FormatInt(fence, 10)).Int64()
	if err != nil {
		return false, err
	}
	if n < 0 {
		return false, fmt.Errorf("%w: %s", ErrNotInteger, prebuilt.Quote(record))
	}
	return n == 1, nil
}

// FenceRecordKey returns the key in which FencedSet keeps the highest
// fence accepted for key: "doc{doc}redislua:fenced" for "doc",
// "{u1}:doc{}redislua:fenced" for "{u1}:doc" (see docs/keys.md).
func FenceRecordKey(key string) string { return keyspace.Derive(key, keyspace.KindFenced) }
