// Package keyspace names the Redis keys (and pub/sub channels) that the
// prebuilt primitives keep next to a user's key: a lock's fence counter, a
// fenced write's record, a transfer ID's record, a rate limiter's state.
//
// A derived name is the user's key followed by a hash tag and the marker
// "}redislua:", then the kind of state and, for some kinds, an extra part
// (a transfer ID):
//
//	app:{u1}:job{}redislua:fence           key with a hash tag: "{}"
//	app:job{app:job}redislua:fence         key without one: the key as tag
//	a}b{Xy}redislua:fence                  key with a '}' but no tag: a short
//	                                       tag of its slot (SlotTag)
//	app:{u1}:a{}redislua:transfer:order-7  with an extra part
//
// The name begins with the user's key, so ACL key patterns such as ~app:*
// cover it, and it hashes to the user's key's slot. Keys that hold a '{'
// but no hash tag ("a{b", "{}x") cannot be followed by a tag that keeps
// their slot; their derived names begin with one instead:
//
//	{Xy}redislua:fence:a{b
//	{Xy}redislua:transfer:3:a{b:order-7    (the key's length splits key
//	                                       from extra)
//
// Names that contain "}redislua:" are reserved (Reserved): the primitives
// refuse them as user keys. For the keys they accept the scheme is
// injective: the first "}redislua:" of a derived name is the one Derive
// wrote, so key, kind and extra can be read back, and two different user
// keys never share a derived name ("x" and "{x}" give "x{x}redislua:fence"
// and "{x}{}redislua:fence").
package keyspace

import (
	"strconv"
	"strings"
	"sync"

	"github.com/redislua/redislua/internal/hashslot"
)

// Marker separates a derived name's tag from its kind.
const Marker = "}redislua:"

// Derive returns the name of kind's state for key, in key's hash slot.
// kind must be a fixed word without ':', '{' or '}'; key must not be
// Reserved.
func Derive(key, kind string) string { return derive(key, kind, "", false) }

// DeriveWith returns the name of kind's state for key and extra (a transfer
// ID, say), in key's hash slot.
func DeriveWith(key, kind, extra string) string { return derive(key, kind, extra, true) }

func derive(key, kind, extra string, withExtra bool) string {
	var b strings.Builder
	if hashslot.HashedPart(key) != key || strings.IndexByte(key, '{') < 0 {
		// The key's own tag, or none: what follows may add one.
		tag := "" // the key's tag comes first and decides the slot
		if hashslot.HashedPart(key) == key {
			tag = key
			if strings.IndexByte(key, '}') >= 0 {
				tag = SlotTag(hashslot.Of(key))
			}
		}
		b.Grow(2*len(key) + len(Marker) + len(kind) + 1 + len(extra) + 4)
		b.WriteString(key)
		b.WriteByte('{')
		b.WriteString(tag)
		b.WriteString(Marker)
		b.WriteString(kind)
		if withExtra {
			b.WriteByte(':')
			b.WriteString(extra)
		}
		return b.String()
	}
	// A '{' without a tag: a tag after the key would pair with it.
	tag := SlotTag(hashslot.Of(key))
	b.Grow(len(tag) + 1 + len(Marker) + len(kind) + 1 + 20 + len(key) + 1 + len(extra))
	b.WriteByte('{')
	b.WriteString(tag)
	b.WriteString(Marker)
	b.WriteString(kind)
	b.WriteByte(':')
	if withExtra {
		b.WriteString(strconv.Itoa(len(key)))
		b.WriteByte(':')
	}
	b.WriteString(key)
	if withExtra {
		b.WriteByte(':')
		b.WriteString(extra)
	}
	return b.String()
}

// Reserved reports whether key contains "}redislua:", as every derived name
// does.
func Reserved(key string) bool { return strings.Contains(key, Marker) }

// slotTags[s] is SlotTag(s), computed on first use.
var (
	slotTagsOnce sync.Once
	slotTags     [hashslot.Count]string
)

// tagAlphabet is what SlotTag's strings are made of, in search order.
const tagAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// SlotTag returns a short string (at most 3 bytes of [0-9a-zA-Z]) whose
// slot is slot: the first such string in order of length, then of
// tagAlphabet. Derived names are stored in Redis, so this order must never
// change.
func SlotTag(slot int) string {
	slotTagsOnce.Do(fillSlotTags)
	return slotTags[slot&(hashslot.Count-1)]
}

func fillSlotTags() {
	left := hashslot.Count
	var buf [3]byte
	var try func(pos, n int)
	try = func(pos, n int) {
		if left == 0 {
			return
		}
		if pos == n {
			s := string(buf[:n])
			if slot := hashslot.Of(s); slotTags[slot] == "" {
				slotTags[slot] = s
				left--
			}
			return
		}
		for i := 0; i < len(tagAlphabet); i++ {
			buf[pos] = tagAlphabet[i]
			try(pos+1, n)
		}
	}
	for n := 1; n <= len(buf) && left > 0; n++ {
		try(0, n)
	}
	if left > 0 {
		panic("keyspace: some slot has no tag of 3 bytes or fewer")
	}
}
