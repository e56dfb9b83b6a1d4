package lock

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/testbackend"
)

// Through an AutoPipeliner, on a server and on the cluster: 16 holders
// take turns on one key 8 times each with Acquire, Refresh, TTL and
// Release; never two at once, every Release succeeds, and each
// acquisition has its own fence.
func TestAutoPipeliner(t *testing.T) {
	testbackend.AutoPipelined(t, func(t *testing.T, ap *redis.AutoPipeliner, c redis.UniversalClient) {
		key := "lock-ap:" + t.Name()
		const holders, turns = 16, 8
		var (
			inside atomic.Int64
			mu     sync.Mutex
			fences []int64
			wg     sync.WaitGroup
		)
		errs := make(chan error, holders)
		for range holders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := New(ap, key, &Options{TTL: 5 * time.Second})
				if err != nil {
					errs <- err
					return
				}
				for range turns {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					err := l.Acquire(ctx)
					if err == nil {
						if n := inside.Add(1); n != 1 {
							errs <- errors.New("two holders at once")
						}
						mu.Lock()
						fences = append(fences, l.Fence())
						mu.Unlock()
						if err = l.Refresh(ctx, 5*time.Second); err == nil {
							var ttl time.Duration
							ttl, err = l.TTL(ctx)
							if err == nil && (ttl <= 0 || ttl > 5*time.Second) {
								err = errors.New("TTL out of range after Refresh")
							}
						}
						inside.Add(-1)
						if rerr := l.Release(ctx); err == nil {
							err = rerr
						}
					}
					cancel()
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("holder: %v", err)
		}
		if len(fences) != holders*turns {
			t.Fatalf("%d acquisitions, want %d", len(fences), holders*turns)
		}
		sorted := slices.Clone(fences)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) != len(fences) {
			t.Errorf("fences repeat: %v", fences)
		}

		// TryAcquire of a held key, and Release of a lost one.
		ctx := context.Background()
		a, b := mustNew(t, ap, key, nil), mustNew(t, ap, key, nil)
		if ok, err := a.TryAcquire(ctx); !ok || err != nil {
			t.Fatalf("TryAcquire: %v, %v", ok, err)
		}
		if ok, err := b.TryAcquire(ctx); ok || err != nil {
			t.Errorf("TryAcquire of a held key: %v, %v; want false, nil", ok, err)
		}
		if err := c.Del(ctx, key).Err(); err != nil {
			t.Fatal(err)
		}
		if err := a.Release(ctx); !errors.Is(err, ErrNotHeld) {
			t.Errorf("Release of a deleted lock: %v, want ErrNotHeld", err)
		}
	})
}

// WaitReplicas through a cluster's AutoPipeliner: the acquisition waits
// for a replica on the client under it.
func TestAutoPipelinerWaitReplicas(t *testing.T) {
	cc := testbackend.SharedCluster(t)
	ap, err := cc.AutoPipeline()
	if err != nil {
		t.Fatal(err)
	}
	defer ap.Close()
	l, err := New(ap, "lock-ap:wait", &Options{WaitReplicas: redislua.Replicas{N: 1, Timeout: time.Second}})
	if err != nil {
		t.Fatalf("New with WaitReplicas: %v", err)
	}
	ctx := context.Background()
	if err := l.Acquire(ctx); err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Errorf("Release: %v", err)
	}
}
