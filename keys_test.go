package redislua

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/hashslot"
	"github.com/redislua/redislua/internal/keyspace"
)

// A user key equal to a key the library derives is refused before anything
// is sent, whatever the primitive: otherwise TransferOnce(from "{b}:a", to
// its own ID record) moved 40 into the record and lost it.
func TestReservedKeysAreRefusedBeforeSending(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	from := "{b}:a"
	record := keyspace.DeriveWith(from, kindTransferID, "x")
	b.client.Set(ctx, from, 100, 0)
	b.sent.Take()

	fenced := keyspace.Derive("{b}:doc", kindFenced)
	rateLog := keyspace.Derive("{b}:user", kindRateLog)
	limiter, err := NewRateLimiter(b.client, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"TransferOnce to its own record": func() error {
			_, err := TransferOnce(ctx, b.client, from, record, 40, "x", nil)
			return err
		},
		"Transfer from a record": func() error {
			_, err := Transfer(ctx, b.client, record, from, 1)
			return err
		},
		"FencedSet on a fence record": func() error {
			_, err := FencedSet(ctx, b.client, fenced, "v", 1)
			return err
		},
		"CompareAndSwap on a limiter's log": func() error {
			_, err := CompareAndSwap(ctx, b.client, rateLog, "", "v", nil)
			return err
		},
		"CompareAndDelete on a record": func() error {
			_, err := CompareAndDelete(ctx, b.client, record, "")
			return err
		},
		"SwapMany with a fence record": func() error {
			_, err := SwapMany(ctx, b.client, []string{"{b}:doc", fenced}, "", "v", nil)
			return err
		},
		"Allow on a limiter's log": func() error {
			_, err := limiter.Allow(ctx, rateLog)
			return err
		},
		"Reset of a limiter's log": func() error { return limiter.Reset(ctx, rateLog) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrReservedKey) {
			t.Errorf("%s: %v, want ErrReservedKey", name, err)
		}
		if sent := b.sent.Take(); len(sent) != 0 {
			t.Errorf("%s: sent %v, want nothing", name, sent)
		}
	}
	wantValue(t, b.client, from, str("100"))
	if n := b.client.DBSize(ctx).Val(); n != 1 {
		t.Errorf("DBSIZE = %d, want 1: a refused call wrote", n)
	}
}

// Pairs of user keys that the first key scheme ("{k}:suffix" for a key
// without a hash tag, "k:suffix" for one with) sent to shared state.
var sharedStatePairs = [][2]string{
	{"keys-test:a", "{keys-test:a}"},
	{"{keys-test}b", "{keys-test}:b"},
	{"keys-test:c:fence", "{keys-test:c}"},
	{"keys-test:{d}", "keys-test:{d}:fence"},
	{"{}keys-test:e", "keys-test:e"},                // an empty tag hashes the whole key
	{"keys-test:\x00\xff{", "keys-test:\x00\xff{}"}, // binary; a '{' without a tag
	{"keys-test:f}g", "{keys-test:f}g"},
}

// Distinct user keys never share derived state: the fence counter, the
// fence record, a limiter's budget and transfer ID records are each their
// own, on a server and on a cluster.
func TestDerivedStateIsNotShared(t *testing.T) {
	clients := map[string]redis.UniversalClient{
		"redis":   realRedis(t).client,
		"cluster": sharedCluster(t),
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for _, p := range sharedStatePairs {
				a, b := p[0], p[1]
				for _, k := range p {
					cleanDerived(t, c, k)
				}
				// FencedSet: a's record at 10 does not refuse b's fence 5.
				if ok, err := FencedSet(ctx, c, a, "va", 10); !ok || err != nil {
					t.Fatalf("FencedSet(%q) = %v, %v", a, ok, err)
				}
				if ok, err := FencedSet(ctx, c, b, "vb", 5); !ok || err != nil {
					t.Errorf("FencedSet(%q, 5) after %q at 10 = %v, %v; want true: they share a record", b, a, ok, err)
				}
				// Rate limits: a limit of 1 on a leaves b's budget whole.
				for _, opts := range [][]RateLimitOption{nil, {WithSlidingCounter()}} {
					l, err := NewRateLimiter(c, 1, time.Minute, opts...)
					if err != nil {
						t.Fatal(err)
					}
					if r, err := l.Allow(ctx, a); !r.Allowed || err != nil {
						t.Fatalf("Allow(%q) = %+v, %v", a, r, err)
					}
					if r, err := l.Allow(ctx, b); !r.Allowed || err != nil {
						t.Errorf("Allow(%q) after %q = %+v, %v; want allowed: they share a budget", b, a, r, err)
					}
				}
				// TransferOnce: one ID on each from key moves twice.
				for _, from := range p {
					to := "{" + hashslot.HashedPart(from) + "}:keys-test-to"
					if hashslot.HashedPart(from) != from {
						to = from + ":keys-test-to" // keeps from's tag
					}
					if Slot(to) != Slot(from) {
						continue // no simple key in from's slot; covered by keyspace's tests
					}
					c.Set(ctx, from, 10, 0)
					if res, err := TransferOnce(ctx, c, from, to, 1, "id-1", nil); err != nil || !res.Applied {
						t.Errorf("TransferOnce from %q = %+v, %v; want applied: the ID record is shared", from, res, err)
					}
					c.Del(ctx, from, to)
				}
				for _, k := range p {
					cleanDerived(t, c, k)
				}
			}
		})
	}
}

// Every derived key hashes to its user key's slot, as the cluster itself
// computes it (CLUSTER KEYSLOT).
func TestDerivedKeysShareTheUserKeysSlot(t *testing.T) {
	cc := sharedCluster(t)
	ctx := context.Background()
	node, err := cc.MasterForKey(ctx, "any")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sharedStatePairs {
		for _, k := range p {
			want := node.ClusterKeySlot(ctx, k).Val()
			for _, d := range []string{
				keyspace.Derive(k, kindFence), keyspace.Derive(k, kindReleased), keyspace.Derive(k, kindFenced),
				keyspace.Derive(k, kindRateLog), keyspace.Derive(k, kindRateCount),
				keyspace.DeriveWith(k, kindTransferID, "order:{7}"),
			} {
				if got, err := node.ClusterKeySlot(ctx, d).Result(); err != nil || got != want {
					t.Errorf("CLUSTER KEYSLOT %q = %d, %v; want %d, the slot of %q", d, got, err, want, k)
				}
			}
		}
	}
}

// cleanDerived deletes key and every key the primitives derive from it.
func cleanDerived(t *testing.T, c redis.UniversalClient, key string) {
	t.Helper()
	ctx := context.Background()
	for _, k := range []string{
		key, keyspace.Derive(key, kindFence), keyspace.Derive(key, kindFenced),
		keyspace.Derive(key, kindRateLog), keyspace.Derive(key, kindRateCount),
		keyspace.DeriveWith(key, kindTransferID, "id-1"),
	} {
		if err := c.Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
}
