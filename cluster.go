package redislua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/hashslot"
)

// ErrCrossSlot means a script's keys hash to different cluster slots
// (CROSSSLOT). See *CrossSlotError.
var ErrCrossSlot = errors.New("redislua: keys hash to different cluster slots (CROSSSLOT)")

// Slot returns the Redis Cluster hash slot of key (0 to 16383): CRC16 of
// the key modulo 16384, where a key with a hash tag ("{user1}:cart") hashes
// only the tag's content. Keys with the same tag share a slot.
func Slot(key string) int { return hashslot.Of(key) }

// CheckSlots returns nil when all keys hash to the same slot, and a
// *CrossSlotError naming the keys that differ otherwise. It allocates
// nothing when the keys agree.
func CheckSlots(keys ...string) error {
	if len(keys) < 2 {
		return nil
	}
	firstPart, first := hashslot.HashedPart(keys[0]), -1
	for _, k := range keys[1:] {
		// Keys with the same hashed part (usually the same hash tag) share
		// a slot: comparing strings is much cheaper than a CRC.
		if hashslot.HashedPart(k) == firstPart {
			continue
		}
		if first < 0 {
			first = Slot(keys[0])
		}
		if Slot(k) != first {
			return newCrossSlotError("", keys)
		}
	}
	return nil
}

// CrossSlotError is a call whose keys do not share a hash slot, caught
// before anything was sent. Keys and Slots list the first key and every key
// whose slot differs from it. errors.Is(err, ErrCrossSlot) holds.
type CrossSlotError struct {
	// Script is the script's name, "" when from CheckSlots.
	Script string
	Keys   []string
	Slots  []int
}

func newCrossSlotError(script string, keys []string) *CrossSlotError {
	e := &CrossSlotError{Script: script}
	first := Slot(keys[0])
	e.Keys, e.Slots = append(e.Keys, keys[0]), append(e.Slots, first)
	for _, k := range keys[1:] {
		if s := Slot(k); s != first {
			e.Keys, e.Slots = append(e.Keys, k), append(e.Slots, s)
		}
	}
	return e
}

// Error names the keys and their slots and suggests a hash tag.
func (e *CrossSlotError) Error() string {
	var b strings.Builder
	b.WriteString("redislua: ")
	if e.Script != "" {
		b.WriteString("script " + e.Script + ": ")
	}
	b.WriteString("keys in different cluster slots:")
	for i, k := range e.Keys {
		fmt.Fprintf(&b, " %s (slot %d)", quoteKey(k), e.Slots[i])
	}
	b.WriteString(`; give them a shared hash tag, e.g. "{user1}:from" and "{user1}:to"`)
	return b.String()
}

// Is reports whether target is ErrCrossSlot.
func (e *CrossSlotError) Is(target error) bool { return target == ErrCrossSlot }

// isCluster reports whether c sends to a Redis Cluster (an AutoPipeliner
// does when it was made from a ClusterClient).
func isCluster(c redis.Scripter) bool {
	_, ok := clientOf(c).(*redis.ClusterClient)
	return ok
}

// eachNode runs fn on every node of a cluster, masters and replicas, and
// joins the errors, each naming its node. It hooks each node against
// scripts' redirect replies first (see guardCluster): having visited every
// node, it spares the next Run the guard's own visit and its CLUSTER SLOTS.
func eachNode(ctx context.Context, cc *redis.ClusterClient, fn func(ctx context.Context, node *redis.Client) error) error {
	var (
		mu   sync.Mutex
		errs []error
	)
	g := guardOf(cc)
	err := cc.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error {
		g.hookNode(node)
		if err := fn(ctx, node); err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("node %s: %w", node.Options().Addr, err))
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	} else {
		g.swept.Store(true) // every node cc knows has the hook
	}
	return errors.Join(errs...)
}
