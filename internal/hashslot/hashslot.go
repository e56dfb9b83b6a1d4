// Package hashslot computes Redis Cluster hash slots.
//
// A key's slot is the CRC16 (XMODEM) of its hashed part modulo [Count]. The
// hashed part is the whole key unless the key holds a non-empty hash tag: the
// bytes between the first '{' and the first '}' after it. Keys that share a
// hash tag therefore share a slot, which is what lets a Lua script touch
// several keys on a cluster.
//
// The functions here are pure, allocation-free and safe for concurrent use.
package hashslot

import "strings"

// Count is the number of hash slots in a Redis Cluster.
const Count = 16384

// Of returns the Redis Cluster hash slot of key, in [0, Count).
//
// It follows Redis's keyHashSlot exactly: if key contains a '{', a '}' after
// that first '{', and at least one byte between them, only the bytes between
// that first '{' and the first '}' after it are hashed. Otherwise (no '{', no
// '}' after it, or an empty tag "{}") the whole key is hashed. So
// "{user1000}.following" hashes "user1000", "foo{}{bar}" hashes the whole key,
// and "foo{{bar}}zap" hashes "{bar".
func Of(key string) int {
	return int(CRC16(HashedPart(key)) & (Count - 1))
}

// HashedPart returns the part of key that Of hashes: the hash tag's
// content when key has a non-empty tag, the whole key otherwise.
func HashedPart(key string) string {
	s := strings.IndexByte(key, '{')
	if s < 0 {
		return key
	}
	e := strings.IndexByte(key[s+1:], '}')
	if e <= 0 { // no '}' after the '{', or an empty tag "{}"
		return key
	}
	return key[s+1 : s+1+e]
}
