package redislua

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/redislua/redislua/internal/keyspace"
)

// ErrReservedKey means a key passed to a prebuilt primitive (a lock, a
// rate limiter, package transfer or cas) contains "}redislua:", as the
// keys those primitives derive for their own state do
// ("job{job}redislua:fence"). They refuse such keys before sending
// anything, so that no call can write over a lock's fence counter, a
// transfer's ID record or a limiter's state. See docs/keys.md.
var ErrReservedKey = errors.New(`redislua: reserved key name (keys containing "}redislua:" are the library's own)`)

// Kinds of derived keys (see internal/keyspace).
const (
	kindFence      = keyspace.KindFence
	kindReleased   = keyspace.KindReleased
	kindFenced     = keyspace.KindFenced
	kindTransferID = keyspace.KindTransferID
	kindRateLog    = keyspace.KindRateLog
	kindRateCount  = keyspace.KindRateCount
)

// checkUserKey refuses, before anything is sent, a key a primitive cannot
// take: "" (ErrEmptyKey) and a reserved name (ErrReservedKey). what names
// the key in the error ("lock key", "rate-limited key").
func checkUserKey(key, what string) error {
	if key == "" {
		return fmt.Errorf("%w: %s", ErrEmptyKey, what)
	}
	if keyspace.Reserved(key) {
		return fmt.Errorf("%w: %s %s", ErrReservedKey, what, quoteKey(key))
	}
	return nil
}

// quoteKey quotes key for an error text (see keyspace.Quote).
func quoteKey(key string) string { return keyspace.Quote(key) }

// sha1Hex returns the SHA1 of s in lower-case hex, as Redis names scripts.
func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
