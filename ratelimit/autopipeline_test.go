package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/testbackend"
)

// Through an AutoPipeliner, on a server and on the cluster, each
// algorithm admits exactly its limit per key when 64 goroutines ask at
// once, far more often than that: never more.
func TestAutoPipeliner(t *testing.T) {
	testbackend.AutoPipelined(t, func(t *testing.T, ap *redis.AutoPipeliner, c redis.UniversalClient) {
		ctx := context.Background()
		for _, alg := range []Algorithm{SlidingLog, SlidingCounter, GCRA} {
			t.Run(alg.String(), func(t *testing.T) {
				const limit, keys, workers, asks = 50, 4, 64, 5
				l, err := New(ap, limit, time.Hour, &Options{Algorithm: alg})
				if err != nil {
					t.Fatal(err)
				}
				key := func(i int) string { return fmt.Sprintf("rl-ap:%s:%d", t.Name(), i) }
				var admitted [keys]atomic.Int64
				var wg sync.WaitGroup
				errs := make(chan error, workers)
				for w := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range asks {
							r, err := l.Allow(ctx, key(w%keys))
							if err != nil {
								errs <- err
								return
							}
							if r.Allowed {
								admitted[w%keys].Add(1)
							}
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("Allow: %v", err)
				}
				for i := range keys {
					// workers*asks/keys = 80 asks per key, within the hour.
					if n := admitted[i].Load(); n != limit {
						t.Errorf("key %d: %d admitted, want exactly %d", i, n, limit)
					}
				}
				r, err := l.Peek(ctx, key(0))
				if err != nil || r.Remaining != 0 {
					t.Errorf("Peek after the limit: %+v, %v; want 0 remaining", r, err)
				}
			})
		}
		if _, err := New(ap, 1, time.Second, nil); err != nil {
			t.Errorf("New(AutoPipeliner): %v", err)
		}
		if _, err := New(ap.Pipeline(), 1, time.Second, nil); !errors.Is(err, redislua.ErrPipeline) {
			t.Errorf("New(the AutoPipeliner's Pipeline()): %v, want ErrPipeline", err)
		}
	})
}
