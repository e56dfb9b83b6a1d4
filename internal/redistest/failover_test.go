package redistest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestClusterFailover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := StartCluster(t, &ClusterOptions{ReplicasPerMaster: 1})
	if got := c.MasterOf(0); got != c.Masters[0] {
		t.Fatalf("MasterOf(0) = %v, want Masters[0] %s", got, c.Masters[0].Addr)
	}
	if got := c.MasterOf(totalSlots); got != nil {
		t.Errorf("MasterOf(%d) = %s, want nil", totalSlots, got.Addr)
	}

	// One key in every slot range, replicated before the kill.
	cc := c.Client(t)
	keys := keysPerRange(t, cc)
	for _, key := range keys {
		if err := cc.Set(ctx, key, "before", 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
	}
	for _, m := range c.Masters {
		if n, err := m.Client(t).Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
			t.Fatalf("%s: WAIT 1 = %d, %v; want 1", m.Addr, n, err)
		}
	}
	// A client that reloads its slot map every half second, used before
	// the kill like cc.
	fast := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), ClusterStateReloadInterval: 500 * time.Millisecond})
	t.Cleanup(func() { _ = fast.Close() })
	if err := setGetAll(ctx, fast, keys); err != nil {
		t.Fatal(err)
	}

	victim := c.Masters[0]
	victim.Kill()
	begin := time.Now()
	c.WaitHealthy(t, clusterTimeout)
	healthy := time.Since(begin)
	if got := c.MasterOf(0); got != c.Replicas[0] {
		t.Errorf("after failover MasterOf(0) = %v, want Replicas[0] %s", got, c.Replicas[0].Addr)
	}

	// fast finds the new master by itself; the data survived.
	if err := retryFor(clusterTimeout, func() error { return setGetAll(ctx, fast, keys) }); err != nil {
		t.Fatalf("SET/GET on every slot range after the failover: %v", err)
	}
	t.Logf("master killed: cluster healthy after %v, SET/GET on every slot range after %v", healthy, time.Since(begin))

	// A client with the default reload interval (60 s) still sends the
	// failed master's slots to it, since go-redis reloads its slot map on
	// MOVED, ASK or READONLY but not on connection errors, until told to.
	t.Logf("default client right after the failover: %v", setGetAll(ctx, cc, keys))
	cc.ReloadState(ctx) // in the background
	if err := retryFor(10*time.Second, func() error { return setGetAll(ctx, cc, keys) }); err != nil {
		t.Errorf("default client after ReloadState: %v", err)
	}
}

// retryFor calls f until it succeeds or timeout passes, and returns its
// last error.
func retryFor(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(5 * pollInterval)
	}
}

// keysPerRange returns a key in each slot range of CLUSTER SLOTS.
func keysPerRange(t *testing.T, cc *redis.ClusterClient) []string {
	t.Helper()
	ctx := context.Background()
	slots, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(slots))
	found := 0
	for i := 0; found < len(slots); i++ {
		if i > 10000 {
			t.Fatalf("no key found for some of the ranges %v", slots)
		}
		key := fmt.Sprintf("failover:%d", i)
		slot, err := cc.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		for j, s := range slots {
			if keys[j] == "" && int64(s.Start) <= slot && slot <= int64(s.End) {
				keys[j] = key
				found++
			}
		}
	}
	return keys
}

// setGetAll checks that every key holds "before" or "after", then sets it
// to "after" and reads it back.
func setGetAll(ctx context.Context, cc *redis.ClusterClient, keys []string) error {
	for _, key := range keys {
		got, err := cc.Get(ctx, key).Result()
		if err != nil {
			return fmt.Errorf("GET %s: %w", key, err)
		}
		if got != "before" && got != "after" {
			return fmt.Errorf("GET %s = %q, want before", key, got)
		}
		if err := cc.Set(ctx, key, "after", 0).Err(); err != nil {
			return fmt.Errorf("SET %s: %w", key, err)
		}
		if got, err := cc.Get(ctx, key).Result(); err != nil || got != "after" {
			return fmt.Errorf("GET %s after SET = %q, %v", key, got, err)
		}
	}
	return nil
}

func TestClusterWaitHealthyFails(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, nil)
	c.Masters[1].Kill() // no replica takes over
	ft := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.WaitHealthy(ft, 300*time.Millisecond)
	}()
	<-done
	if !strings.Contains(ft.msg, "cluster not healthy within 300ms") || !strings.Contains(ft.msg, "log tail") {
		t.Errorf("WaitHealthy failure = %q, want the timeout and log tails", ft.msg)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// the goroutine, as testing.T's does, without failing the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
