package cas

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/testbackend"
)

// Through an AutoPipeliner, on a server and on the cluster: 64 goroutines
// each add 1 to one counter 20 times with a read-then-Swap loop, and no
// increment is lost or doubled; Delete, SwapMany and FencedSet keep their
// answers, and cross-slot keys are refused before sending.
func TestAutoPipeliner(t *testing.T) {
	testbackend.AutoPipelined(t, func(t *testing.T, ap *redis.AutoPipeliner, c redis.UniversalClient) {
		ctx := context.Background()
		key := "{cas-ap}:counter:" + t.Name()
		const workers, adds = 64, 20
		if err := c.Set(ctx, key, "0", 0).Err(); err != nil { // a missing key never matches
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range adds {
					for {
						cur, err := ap.Get(ctx, key).Result()
						if err != nil {
							errs <- err
							return
						}
						n, _ := strconv.Atoi(cur)
						ok, err := Swap(ctx, ap, key, cur, strconv.Itoa(n+1), nil)
						if err != nil {
							errs <- err
							return
						}
						if ok {
							break
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Swap loop: %v", err)
		}
		got, err := c.Get(ctx, key).Int()
		if err != nil || got != workers*adds {
			t.Errorf("counter = %d, %v; want %d", got, err, workers*adds)
		}

		if ok, err := Delete(ctx, ap, key, "wrong"); err != nil || ok {
			t.Errorf("Delete with a wrong value: %v, %v; want false, nil", ok, err)
		}
		if ok, err := Delete(ctx, ap, key, strconv.Itoa(workers*adds)); err != nil || !ok {
			t.Errorf("Delete: %v, %v; want true, nil", ok, err)
		}
		keys := []string{"{cas-ap}:a:" + t.Name(), "{cas-ap}:b:" + t.Name()}
		for _, k := range keys {
			if err := c.Set(ctx, k, "", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := SwapMany(ctx, ap, keys, "", "x", nil); err != nil || n != 2 {
			t.Errorf("SwapMany: %d, %v; want 2, nil", n, err)
		}
		fenced := "{cas-ap}:fenced:" + t.Name()
		for i, tc := range []struct {
			fence int64
			want  bool
		}{{5, true}, {4, false}, {6, true}} {
			if ok, err := FencedSet(ctx, ap, fenced, fmt.Sprint(tc.fence), tc.fence); err != nil || ok != tc.want {
				t.Errorf("FencedSet %d (fence %d): %v, %v; want %v", i, tc.fence, ok, err, tc.want)
			}
		}
		_, err = SwapMany(ctx, ap, []string{"cas-ap:x", "cas-ap:y"}, "", "x", nil)
		var cse *redislua.CrossSlotError
		if !errors.As(err, &cse) {
			t.Errorf("SwapMany across slots: %v, want a *redislua.CrossSlotError", err)
		}
	})
}
