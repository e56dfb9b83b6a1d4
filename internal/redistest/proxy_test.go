package redistest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// A proxy forwards commands and replies, its filters see each command
// (split reads included, by the 8 bytes of tail), and a dropped reply
// leaves the client waiting until its read timeout.
func TestProxyForwardsFiltersAndDrops(t *testing.T) {
	t.Parallel()
	s := Start(t)
	var echoes atomic.Int64
	var drop atomic.Bool
	p := StartProxy(t, s.Addr, func() (toServer, toClient Filter) {
		toServer = func(seen []byte) bool {
			if bytes.Contains(bytes.ToLower(seen), []byte("echo")) {
				echoes.Add(1)
			}
			return true
		}
		toClient = func([]byte) bool { return !drop.Load() }
		return toServer, toClient
	})
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), ReadTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	if got, err := c.Echo(ctx, "through").Result(); err != nil || got != "through" {
		t.Fatalf("ECHO through the proxy = %q, %v", got, err)
	}
	if n := echoes.Load(); n != 1 {
		t.Errorf("the filter saw ECHO %d times, want 1", n)
	}
	drop.Store(true)
	var netErr net.Error
	if err := c.Ping(ctx).Err(); !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("PING with replies dropped = %v, want a read timeout", err)
	}
	p.Close()
	p.Close() // idempotent
	if err := c.Ping(ctx).Err(); err == nil {
		t.Error("PING through a closed proxy succeeded")
	}
}
