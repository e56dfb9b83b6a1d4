package transfer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/testbackend"
)

// Through an AutoPipeliner, on a server and on the cluster: 64 goroutines
// move money between 8 accounts, and the total neither grows nor shrinks;
// a refused move is a *BalanceError, MoveOnce applies an ID once, and
// cross-slot accounts are refused before sending.
func TestAutoPipeliner(t *testing.T) {
	testbackend.AutoPipelined(t, func(t *testing.T, ap *redis.AutoPipeliner, c redis.UniversalClient) {
		ctx := context.Background()
		const accounts, start = 8, 1000
		acct := func(i int) string { return fmt.Sprintf("{bank-ap}:%s:%d", t.Name(), i) }
		for i := range accounts {
			if err := c.Set(ctx, acct(i), start, 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		const workers, moves = 64, 30
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range moves {
					from, to := acct((w+i)%accounts), acct((w+3*i+1)%accounts)
					if from == to {
						continue
					}
					_, err := Move(ctx, ap, from, to, int64(1+(w+i)%50))
					if err != nil && !errors.Is(err, ErrInsufficientFunds) {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Move: %v", err)
		}
		var total int64
		for i := range accounts {
			v, err := c.Get(ctx, acct(i)).Int64()
			if err != nil || v < 0 {
				t.Errorf("account %d: %d, %v", i, v, err)
			}
			total += v
		}
		if total != accounts*start {
			t.Errorf("total after the moves: %d, want %d", total, accounts*start)
		}

		_, err := Move(ctx, ap, acct(0), acct(1), 1<<40)
		var be *BalanceError
		if !errors.Is(err, ErrInsufficientFunds) || !errors.As(err, &be) {
			t.Errorf("Move of too much: %v, want a *BalanceError matching ErrInsufficientFunds", err)
		}
		first, err := MoveOnce(ctx, ap, acct(0), acct(1), 1, "order-1", nil)
		if err != nil || !first.Applied {
			t.Errorf("MoveOnce: %+v, %v; want applied", first, err)
		}
		again, err := MoveOnce(ctx, ap, acct(0), acct(1), 1, "order-1", nil)
		if err != nil || again.Applied || again.From != first.From {
			t.Errorf("MoveOnce again: %+v, %v; want not applied, balances %+v", again, err, first)
		}
		_, err = Move(ctx, ap, "bank-ap:x", "bank-ap:y", 1)
		var cse *redislua.CrossSlotError
		if !errors.As(err, &cse) {
			t.Errorf("Move across slots: %v, want a *redislua.CrossSlotError", err)
		}
	})
}
