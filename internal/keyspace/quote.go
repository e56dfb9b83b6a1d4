package keyspace

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"
)

// maxQuoted is the longest key quoted whole in an error text.
const maxQuoted = 128

// Quote quotes key for an error text. A key longer than 128 bytes is cut,
// with its length and a hash to tell such keys apart, so that a huge key
// (a 1 MiB ID) does not make a huge error.
func Quote(key string) string {
	if len(key) <= maxQuoted {
		return strconv.Quote(key)
	}
	sum := sha1.Sum([]byte(key))
	return fmt.Sprintf("%q... (%d bytes, sha1 %s)", key[:maxQuoted/2], len(key), hex.EncodeToString(sum[:])[:12])
}
