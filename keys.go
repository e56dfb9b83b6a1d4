package redislua

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/redislua/redislua/internal/keyspace"
)

// ErrReservedKey means a key passed to a prebuilt primitive (Lock,
// RateLimiter, Transfer, CompareAndSwap ...) contains "}redislua:", as the
// keys those primitives derive for their own state do
// ("job{job}redislua:fence"). They refuse such keys before sending
// anything, so that no call can write over a lock's fence counter, a
// transfer's ID record or a limiter's state. See docs/keys.md.
var ErrReservedKey = errors.New(`redislua: reserved key name (keys containing "}redislua:" are the library's own)`)

// Kinds of derived keys (see internal/keyspace): the word after
// "redislua:" in the name.
const (
	kindFence      = "fence"     // a Lock's fence counter
	kindReleased   = "released"  // a Lock's release channel
	kindFenced     = "fenced"    // FencedSet's highest accepted fence
	kindTransferID = "transfer"  // TransferOnce's ID record
	kindRateLog    = "ratelog"   // RateLimiter's sliding log
	kindRateCount  = "ratecount" // RateLimiter's sliding counter
)

// checkUserKey refuses, before anything is sent, a key a primitive cannot
// take: "" (ErrEmptyKey) and a reserved name (ErrReservedKey). what names
// the key in the error ("lock key", "FencedSet key").
func checkUserKey(key, what string) error {
	if key == "" {
		return fmt.Errorf("%w: %s", ErrEmptyKey, what)
	}
	if keyspace.Reserved(key) {
		return fmt.Errorf("%w: %s %s", ErrReservedKey, what, quoteKey(key))
	}
	return nil
}

// maxQuotedKey is the longest key quoted whole in an error text.
const maxQuotedKey = 128

// quoteKey quotes key for an error text. A key longer than maxQuotedKey
// bytes is cut, with its length and a hash to tell such keys apart, so that
// a huge key (a 1 MiB ID) does not make a huge error.
func quoteKey(key string) string {
	if len(key) <= maxQuotedKey {
		return strconv.Quote(key)
	}
	return fmt.Sprintf("%q... (%d bytes, sha1 %s)", key[:maxQuotedKey/2], len(key), sha1Hex(key)[:12])
}

// sha1Hex returns the SHA1 of s in lower-case hex, as Redis names scripts.
func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
