package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
)

// The Redis keys are the documented ones, in the limited key's slot, and
// expire: the log one window (and up to 0.2 s) after its newest call, the
// counter at most two windows after its last.
func TestKeys(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		ctx := context.Background()
		base := testKey(t, "")
		cases := []struct {
			key, log, counter string
		}{
			{base + "user:42", base + "user:42{" + base + "user:42}redislua:ratelog", base + "user:42{" + base + "user:42}redislua:ratecount"},
			{"api:{" + base + "u1}", "api:{" + base + "u1}{}redislua:ratelog", "api:{" + base + "u1}{}redislua:ratecount"},
		}
		for _, c := range cases {
			for _, v := range variants {
				l := newTestLimiter(t, srv.c, 3, v.window, v.opts)
				if r := allowN(t, l, c.key, 1); !r.Allowed {
					t.Fatalf("%s: first call refused: %+v", v.name, r)
				}
				// The log and GCRA round their expiry up by at most 0.2 s.
				want, maxTTL := c.log, v.window+200*time.Millisecond
				if v.name == "counter" {
					want, maxTTL = c.counter, 2*v.window
				}
				if redislua.Slot(want) != redislua.Slot(c.key) {
					t.Errorf("%s: slot of %q is %d, of %q %d", v.name, want, redislua.Slot(want), c.key, redislua.Slot(c.key))
				}
				ttl, err := srv.c.PTTL(ctx, want).Result()
				if err != nil || ttl <= 0 || ttl > maxTTL {
					t.Errorf("%s: PTTL %q = %v, %v; want in (0, %v]", v.name, want, ttl, err, maxTTL)
				}
			}
		}
	})
}

// A key of the library's own form (a limiter's state, a lock's fence
// counter, a transfer's record) is refused before anything is sent, so
// that no call can count on another's state or reset it.
func TestReservedKeysAreRefusedBeforeSending(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	reserved := []string{
		keyspace.Derive("{b}:user", keyspace.KindRateLog),
		keyspace.Derive("{b}:user", keyspace.KindRateCount),
		keyspace.Derive("{b}:user", keyspace.KindRateGCRA),
		keyspace.Derive("job", keyspace.KindFence),
		keyspace.DeriveWith("{b}:a", keyspace.KindTransferID, "x"),
	}
	for _, v := range variants {
		l := newTestLimiter(t, b.Client, 10, v.window, v.opts)
		for _, key := range reserved {
			calls := map[string]func() error{
				"Allow": func() error {
					_, err := l.Allow(ctx, key)
					return err
				},
				"AllowN": func() error {
					_, err := l.AllowN(ctx, key, 2)
					return err
				},
				"Reset": func() error { return l.Reset(ctx, key) },
			}
			t.Run(v.name+"/"+key, func(t *testing.T) {
				testbackend.ExpectRefusedBeforeSending(t, b, redislua.ErrReservedKey, calls)
			})
		}
	}
	if n := b.Client.DBSize(ctx).Val(); n != 0 {
		t.Errorf("DBSIZE = %d, want 0: a refused call wrote", n)
	}
}

// Distinct user keys never share a budget, for either algorithm, on a
// server and on a cluster: a limit of 1 used up on one key of each pair
// leaves the other's whole.
func TestDerivedStateIsNotShared(t *testing.T) {
	clients := testbackend.ServerAndCluster(t)
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for _, v := range variants {
				l := newTestLimiter(t, c, 1, time.Minute, v.opts)
				for _, p := range testbackend.SharedStatePairs {
					a, b := p[0], p[1]
					for _, k := range p {
						if err := l.Reset(ctx, k); err != nil {
							t.Fatal(err)
						}
					}
					if r, err := l.Allow(ctx, a); !r.Allowed || err != nil {
						t.Fatalf("%s: Allow(%q) = %+v, %v", v.name, a, r, err)
					}
					if r, err := l.Allow(ctx, b); !r.Allowed || err != nil {
						t.Errorf("%s: Allow(%q) after %q = %+v, %v; want allowed: they share a budget", v.name, b, a, r, err)
					}
					for _, k := range p {
						if err := l.Reset(ctx, k); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
		})
	}
}

// An ACL user limited to its key prefix and to scripting runs both
// algorithms on its keys: the limiter's keys begin with the limited key,
// and Redis 7 checks ACLs for the commands scripts call (TIME included).
func TestACLUser(t *testing.T) {
	srv := redistest.Start(t)
	app := srv.CreateUser(t, "app", "s3cret",
		"~app:*", "&app:*",
		"+@read", "+@write", "-@dangerous",
		"+eval", "+evalsha", "+eval_ro", "+evalsha_ro", "+script|load", "+script|exists",
		"+publish", "+subscribe", "+unsubscribe", "+time", "+ping",
	)
	ctx := context.Background()
	for _, v := range variants {
		limiter := newTestLimiter(t, app, 2, time.Minute, v.opts)
		if r, err := limiter.Allow(ctx, "app:user1"); err != nil || !r.Allowed {
			t.Fatalf("%s: Allow as app = %+v, %v", v.name, r, err)
		}
		if err := limiter.Reset(ctx, "app:user1"); err != nil {
			t.Fatalf("%s: Reset as app: %v", v.name, err)
		}
	}
}
