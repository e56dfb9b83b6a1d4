package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/transfer"
)

// The accounts: numBanks hash tags, numAccounts balances under each, all
// starting at initialBalance. Transfers stay within a bank, whose keys
// share a slot.
const (
	numBanks       = 4
	numAccounts    = 8
	initialBalance = 1_000_000
	maxAmount      = 1000
	// transferRetryFor is how long a worker retries a transfer whose
	// outcome is unknown, with the same ID, before it leaves it to the
	// final checks.
	transferRetryFor = 10 * time.Second
	// recordTTL outlives any run, so that a retry is always recognised.
	recordTTL = 6 * time.Hour
)

// bank is the accounts and what the workers learnt about the transfers.
type bank struct {
	accounts [numBanks][]string

	mu      sync.Mutex
	ledger  map[string]int64 // merged from the workers at the end
	pending []transferCall
}

// transferCall is one transfer, as sent (and resent) with its ID.
type transferCall struct {
	from, to string
	amount   int64
	id       string
}

func newBank() *bank {
	b := &bank{ledger: make(map[string]int64)}
	for i := range numBanks {
		for j := range numAccounts {
			b.accounts[i] = append(b.accounts[i], fmt.Sprintf("soak:{bank%d}:acct%d", i, j))
		}
	}
	return b
}

func (b *bank) init(ctx context.Context, c redis.UniversalClient) error {
	for _, accts := range b.accounts {
		for _, a := range accts {
			if err := c.Set(ctx, a, initialBalance, 0).Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// merge adds a worker's ledger and pending transfers to the bank's.
func (b *bank) merge(w *worker) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, d := range w.ledger {
		b.ledger[k] += d
	}
	b.pending = append(b.pending, w.pending...)
}

// transfer moves a random amount between two accounts of a random bank
// with transfer.MoveOnce and a new ID, and sends the same call again while the
// outcome is unknown.
func (w *worker) transfer() {
	s := w.s
	accts := s.bank.accounts[w.rng.IntN(numBanks)]
	i := w.rng.IntN(numAccounts)
	j := (i + 1 + w.rng.IntN(numAccounts-1)) % numAccounts
	w.seq++
	tc := transferCall{
		from:   accts[i],
		to:     accts[j],
		amount: 1 + w.rng.Int64N(maxAmount),
		id:     "w" + strconv.Itoa(w.id) + "-" + strconv.Itoa(w.seq),
	}
	deadline := time.Now().Add(transferRetryFor)
	for attempt := 0; ; attempt++ {
		var res transfer.Result
		err := s.timed(opTransfer, func(ctx context.Context) error {
			var err error
			res, err = tc.send(ctx, s)
			return err
		})
		switch {
		case err == nil:
			if !res.Applied && attempt == 0 {
				s.v.fail(checkFreshID, "transfer %s: the first call returned Applied false", tc.id)
			}
			if res.Applied {
				s.outcomes.add("transfer: applied", 1)
			} else {
				s.outcomes.add("transfer: found applied by an earlier send", 1)
			}
			w.ledger[tc.from] -= tc.amount
			w.ledger[tc.to] += tc.amount
			return
		case errors.Is(err, transfer.ErrInsufficientFunds):
			s.outcomes.add("transfer: refused, insufficient funds", 1)
			return
		case errors.Is(err, transfer.ErrIDReused):
			s.v.fail(checkIDReused, "transfer %s: %v", tc.id, err)
			w.pending = append(w.pending, tc)
			return
		case retryable(err) && time.Now().Before(deadline) && !w.stopping():
			if attempt == 0 {
				s.outcomes.add("transfer: sent again with the same ID", 1)
			}
			time.Sleep(retryPause)
		default:
			// Unknown, or an error that says nothing ran; either way the
			// final checks send it once more to find out.
			s.outcomes.add("transfer: left unknown for the final checks", 1)
			w.pending = append(w.pending, tc)
			return
		}
	}
}

func (tc transferCall) send(ctx context.Context, s *soak) (transfer.Result, error) {
	return transfer.MoveOnce(ctx, s.t.client, tc.from, tc.to, tc.amount, tc.id,
		&transfer.Options{RecordTTL: recordTTL})
}

// checkTransfers resolves the transfers left unknown by sending each
// again with its ID (which applies it now if it never was), then checks
// every balance against the ledger and every bank's total.
func (s *soak) checkTransfers(deadline time.Time) {
	b := s.bank
	resolved := 0
	for _, tc := range b.pending {
		for {
			var res transfer.Result
			err := s.timed(opTransfer, func(ctx context.Context) error {
				var err error
				res, err = tc.send(ctx, s)
				return err
			})
			if err == nil {
				if res.Applied {
					s.outcomes.add("transfer: unknown, applied by the final check", 1)
				} else {
					s.outcomes.add("transfer: unknown, had been applied", 1)
				}
				b.ledger[tc.from] -= tc.amount
				b.ledger[tc.to] += tc.amount
				resolved++
				break
			}
			if errors.Is(err, transfer.ErrInsufficientFunds) {
				s.outcomes.add("transfer: unknown, had not been applied (refused now)", 1)
				resolved++
				break
			}
			if !retryable(err) || time.Now().After(deadline) {
				s.v.fail(checkResolved, "transfer %s: %v", tc.id, err)
				break
			}
			time.Sleep(retryPause)
		}
	}
	s.v.note(checkResolved, "%d of %d resolved", resolved, len(b.pending))

	var keys int
	for i, accts := range b.accounts {
		var sum int64
		for _, a := range accts {
			got, err := s.getIntRetrying(a, deadline)
			if err != nil {
				s.v.fail(checkLedger, "reading %s: %v", a, err)
				continue
			}
			sum += got
			if want := initialBalance + b.ledger[a]; got != want {
				s.v.fail(checkLedger, "%s = %d, want %d", a, got, want)
			}
			keys++
		}
		if want := int64(initialBalance * numAccounts); sum != want {
			s.v.fail(checkBalanceSum, "bank %d: balances add up to %d, want %d", i, sum, want)
		}
	}
	s.v.note(checkLedger, "%d balances compared", keys)
	s.v.note(checkBalanceSum, "%d banks of %d accounts", numBanks, numAccounts)
}
