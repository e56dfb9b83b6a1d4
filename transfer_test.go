package redislua

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/redistest"
)

const (
	maxStr = "9223372036854775807"
	minStr = "-9223372036854775808"
)

// setBalances makes from and to hold the given values, or be missing for nil.
func setBalances(t *testing.T, c redis.Cmdable, from, to string, fromVal, toVal *string) {
	t.Helper()
	setOrDelete(t, c, from, fromVal)
	setOrDelete(t, c, to, toVal)
}

func TestTransferExact(t *testing.T) {
	tests := []struct {
		name             string
		from, to         *string // nil: missing
		amount           int64
		wantFrom, wantTo *string // after; nil: missing
		wantErr          error
		wantKey          string // "from" or "to": the key a *BalanceError names
	}{
		{"simple", str("100"), str("5"), 30, str("70"), str("35"), nil, ""},
		{"to missing counts as 0", str("100"), nil, 30, str("70"), str("30"), nil, ""},
		{"whole balance", str("30"), str("0"), 30, str("0"), str("30"), nil, ""},
		{"from missing is empty", nil, str("5"), 1, nil, str("5"), ErrInsufficientFunds, "from"},
		{"one short", str("29"), str("5"), 30, str("29"), str("5"), ErrInsufficientFunds, "from"},
		{"negative from", str("-1"), str("5"), 1, str("-1"), str("5"), ErrInsufficientFunds, "from"},
		{"min int64 from", str(minStr), str("5"), 1, str(minStr), str("5"), ErrInsufficientFunds, "from"},
		{"min int64 from, max amount", str(minStr), str("0"), math.MaxInt64, str(minStr), str("0"), ErrInsufficientFunds, "from"},
		{"max from, max amount, one short", str("9223372036854775806"), str("0"), math.MaxInt64, str("9223372036854775806"), str("0"), ErrInsufficientFunds, "from"},
		// 2^53+1 is not a double: doubles would give 9007199254740990 and ...94.
		{"above 2^53", str("9007199254740993"), str("9007199254740993"), 2, str("9007199254740991"), str("9007199254740995"), nil, ""},
		{"near 2^62", str("4611686018427387905"), str("4611686018427387903"), 1 << 62, str("1"), str(maxStr), nil, ""},
		{"max int64 moves whole", str(maxStr), str("0"), math.MaxInt64, str("0"), str(maxStr), nil, ""},
		{"max int64 minus one", str(maxStr), nil, 1, str("9223372036854775806"), str("1"), nil, ""},
		{"to reaches max exactly", str("10"), str("9223372036854775802"), 5, str("5"), str(maxStr), nil, ""},
		{"to one past max", str("10"), str("9223372036854775802"), 6, str("10"), str("9223372036854775802"), ErrOverflow, "to"},
		{"to at max", str("10"), str(maxStr), 1, str("10"), str(maxStr), ErrOverflow, "to"},
		{"huge move overflows to", str(maxStr), str("1"), math.MaxInt64, str(maxStr), str("1"), ErrOverflow, "to"},
		{"min int64 to", str(maxStr), str(minStr), math.MaxInt64, str("0"), str("-1"), nil, ""},
		{"negative to", str("10"), str("-5"), 10, str("0"), str("5"), nil, ""},
		{"from not a number", str("abc"), str("5"), 1, str("abc"), str("5"), ErrNotInteger, "from"},
		{"to a float", str("10"), str("1.5"), 1, str("10"), str("1.5"), ErrNotInteger, "to"},
		{"leading zero", str("007"), str("5"), 1, str("007"), str("5"), ErrNotInteger, "from"},
		{"to empty string", str("10"), str(""), 1, str("10"), str(""), ErrNotInteger, "to"},
		{"from past max", str("9223372036854775808"), str("5"), 1, str("9223372036854775808"), str("5"), ErrNotInteger, "from"},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		from, to := "{bank}:from", "{bank}:to"
		for _, tc := range tests {
			setBalances(t, b.client, from, to, tc.from, tc.to)
			res, err := Transfer(ctx, b.client, from, to, tc.amount)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("%s: Transfer err = %v, want %v", tc.name, err, tc.wantErr)
			}
			wantValue(t, b.client, from, tc.wantFrom)
			wantValue(t, b.client, to, tc.wantTo)
			if tc.wantKey != "" {
				var be *BalanceError
				want := map[string]string{"from": from, "to": to}[tc.wantKey]
				if !errors.As(err, &be) || be.Key != want {
					t.Errorf("%s: err = %v, want a *BalanceError naming %q", tc.name, err, want)
				}
			}
			if errors.Is(err, ErrNotInteger) {
				continue
			}
			// Balances in the result, on success and on a refusal.
			wantRes := TransferResult{From: atoi(tc.wantFrom), To: atoi(tc.wantTo), Applied: err == nil}
			if res != wantRes {
				t.Errorf("%s: Transfer = %+v, want %+v", tc.name, res, wantRes)
			}
		}
	})
}

// atoi parses a balance that may be missing (0).
func atoi(v *string) int64 {
	if v == nil {
		return 0
	}
	n, err := strconv.ParseInt(*v, 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

// redisInteger reports whether Redis's INCRBY accepts s: exactly the
// strings strconv.FormatInt produces for some int64.
func redisInteger(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && strconv.FormatInt(n, 10) == s
}

// The script's integer check must be exactly Redis's: stricter would
// refuse balances Redis can add to; looser would let INCRBY fail after
// DECRBY. On real Redis each value is also given to INCRBY itself.
func TestTransferIntegerCheckMatchesRedis(t *testing.T) {
	values := []string{
		"0", "-0", "00", "01", "+1", "1", "-1", " 1", "1 ", "1\x00", "\x001", "", "-", "--1",
		"1e3", "1.0", "0x10", "١", "9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "-9223372036854775809", "99999999999999999999",
		"-99999999999999999999", "09223372036854775807", "18446744073709551616",
		"12345678901234567890", "1000000000000000000", "-1000000000000000000",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789012345678901234567890123456789-+ .e\x00"
	for range 300 {
		b := make([]byte, rng.IntN(22))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		values = append(values, string(b))
	}
	for range 50 {
		values = append(values, strconv.FormatInt(int64(rng.Uint64()), 10))
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		for _, v := range values {
			want := redisInteger(v)
			if b.real {
				b.client.Set(ctx, "{probe}", v, 0)
				if got := b.client.IncrBy(ctx, "{probe}", 0).Err() == nil; got != want {
					t.Fatalf("INCRBY of %q works = %v, but the test's oracle says %v", v, got, want)
				}
			}
			// On the credited side (amount 1; MaxInt64 overflows instead).
			setBalances(t, b.client, "{bank}:a", "{bank}:b", str("10"), &v)
			_, err := Transfer(ctx, b.client, "{bank}:a", "{bank}:b", 1)
			if got := !errors.Is(err, ErrNotInteger); got != want {
				t.Errorf("to %q: Transfer err = %v, integer = %v; want integer %v", v, err, got, want)
			}
			if !want {
				wantValue(t, b.client, "{bank}:a", str("10"))
			}
			// On the debited side.
			setBalances(t, b.client, "{bank}:a", "{bank}:b", &v, str("0"))
			_, err = Transfer(ctx, b.client, "{bank}:a", "{bank}:b", 1)
			if got := !errors.Is(err, ErrNotInteger); got != want {
				t.Errorf("from %q: Transfer err = %v, integer = %v; want integer %v", v, err, got, want)
			}
			if !want {
				wantValue(t, b.client, "{bank}:b", str("0"))
			}
		}
	})
}

// interesting returns an int64 near a limit where doubles or int64
// arithmetic go wrong, or sometimes any int64.
func interesting(rng *rand.Rand) int64 {
	near := []int64{0, 1 << 53, -(1 << 53), 1 << 62, -(1 << 62), math.MaxInt64, math.MinInt64, 1000}
	base := near[rng.IntN(len(near))]
	switch rng.IntN(4) {
	case 0:
		return int64(rng.Uint64())
	case 1:
		return base
	}
	off := rng.Int64N(5)
	if base > 0 || (base == 0 && rng.IntN(2) == 0) {
		return base - off
	}
	return base + off
}

// Transfer against a math/big model, with balances and amounts near the
// int64 limits and 2^53.
func TestTransferMatchesBigIntModel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(3, 4))
		maxBig := big.NewInt(math.MaxInt64)
		counts := map[string]int{}
		for i := range 300 {
			from, to, amount := interesting(rng), interesting(rng), interesting(rng)
			if amount < 0 {
				amount = -(amount + 1) // now >= 0, MinInt64 included
			}
			if amount == 0 {
				amount = 1
			}
			switch rng.IntN(3) {
			case 0: // a move from's balance allows
				if from > 0 {
					amount = 1 + rng.Int64N(from)
				}
			case 1: // around the credited balance's limit
				to = math.MaxInt64 - rng.Int64N(10)
				amount = 1 + rng.Int64N(20)
				from = amount + rng.Int64N(3)
			}
			fs, ts := strconv.FormatInt(from, 10), strconv.FormatInt(to, 10)
			setBalances(t, b.client, "{bank}:a", "{bank}:b", &fs, &ts)

			wantFrom, wantTo := big.NewInt(from), big.NewInt(to)
			var wantErr error
			switch {
			case from < amount:
				wantErr = ErrInsufficientFunds
			case new(big.Int).Add(wantTo, big.NewInt(amount)).Cmp(maxBig) > 0:
				wantErr = ErrOverflow
			default:
				wantFrom.Sub(wantFrom, big.NewInt(amount))
				wantTo.Add(wantTo, big.NewInt(amount))
			}
			counts[fmt.Sprint(wantErr)]++

			res, err := Transfer(ctx, b.client, "{bank}:a", "{bank}:b", amount)
			if !errors.Is(err, wantErr) || (wantErr == nil) != (err == nil) {
				t.Fatalf("%d: Transfer(%d -> %d, %d) err = %v, want %v", i, from, to, amount, err, wantErr)
			}
			wantValue(t, b.client, "{bank}:a", str(wantFrom.String()))
			wantValue(t, b.client, "{bank}:b", str(wantTo.String()))
			if res.From != wantFrom.Int64() || res.To != wantTo.Int64() {
				t.Fatalf("%d: Transfer(%d -> %d, %d) = %+v, want %v and %v", i, from, to, amount, res, wantFrom, wantTo)
			}
		}
		t.Logf("outcomes of 300 transfers: %v", counts)
	})
}

// concurrentTransfers runs workers goroutines doing perWorker random
// transfers each among accounts balances that start at 1000, and checks
// that every balance ends exactly as the successful transfers say, none
// negative and the total unchanged.
func concurrentTransfers(t *testing.T, c redis.Cmdable, prefix string, workers, perWorker int) {
	t.Helper()
	ctx := context.Background()
	const accounts, initial = 10, 1000
	keys := make([]string, accounts)
	for i := range keys {
		keys[i] = prefix + strconv.Itoa(i)
		if err := c.Set(ctx, keys[i], initial, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	type move struct {
		from, to int
		amount   int64
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied []move
		refused int
		errs    = make(chan error, workers)
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for range perWorker {
				f := rng.IntN(accounts)
				to := (f + 1 + rng.IntN(accounts-1)) % accounts
				amount := 1 + rng.Int64N(400)
				res, err := Transfer(ctx, c, keys[f], keys[to], amount)
				switch {
				case err == nil:
					if res.From < 0 || res.To < amount || !res.Applied {
						errs <- fmt.Errorf("Transfer(%d -> %d, %d) = %+v", f, to, amount, res)
						return
					}
					mu.Lock()
					applied = append(applied, move{f, to, amount})
					mu.Unlock()
				case errors.Is(err, ErrInsufficientFunds):
					if res.From >= amount || res.From < 0 {
						errs <- fmt.Errorf("refused Transfer(%d -> %d, %d) reports balance %d", f, to, amount, res.From)
						return
					}
					mu.Lock()
					refused++
					mu.Unlock()
				default:
					errs <- fmt.Errorf("Transfer(%d -> %d, %d): %w", f, to, amount, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := make([]int64, accounts)
	for i := range want {
		want[i] = initial
	}
	for _, m := range applied {
		want[m.from] -= m.amount
		want[m.to] += m.amount
	}
	var total int64
	for i, k := range keys {
		got, err := c.Get(ctx, k).Int64()
		if err != nil {
			t.Fatal(err)
		}
		if got != want[i] || got < 0 {
			t.Errorf("%s = %d, want %d (from the transfers applied), never negative", k, got, want[i])
		}
		total += got
	}
	if total != accounts*initial {
		t.Errorf("total = %d, want %d", total, accounts*initial)
	}
	t.Logf("%d goroutines x %d transfers: %d applied, %d refused for insufficient funds", workers, perWorker, len(applied), refused)
}

func TestTransferConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		concurrentTransfers(t, b.client, "{bank}:acct:", 32, 40)
	})
}

func TestTransferOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		from, to := "{bank}:alice", "{bank}:bob"
		b.client.Set(ctx, from, 100, 0)
		b.client.Del(ctx, to)
		for i := range 5 {
			res, err := TransferOnce(ctx, b.client, from, to, 30, "order-1", nil)
			want := TransferResult{From: 70, To: 30, Applied: i == 0}
			if res != want || err != nil {
				t.Fatalf("call %d: TransferOnce = %+v, %v; want %+v, nil", i+1, res, err, want)
			}
		}
		record := keyspace.DeriveWith(from, kindTransferID, "order-1")
		if d := pttl(t, b.client, record); d <= DefaultTransferRecordTTL-time.Minute || d > DefaultTransferRecordTTL {
			t.Errorf("record PTTL = %v, want about %v", d, DefaultTransferRecordTTL)
		}

		// The same ID with other parameters moves nothing.
		for _, tc := range []struct {
			to     string
			amount int64
		}{{to, 31}, {"{bank}:carol", 30}} {
			_, err := TransferOnce(ctx, b.client, from, tc.to, tc.amount, "order-1", nil)
			if !errors.Is(err, ErrTransferIDReused) {
				t.Errorf("reuse with %s, %d: err = %v, want ErrTransferIDReused", tc.to, tc.amount, err)
			}
		}
		wantValue(t, b.client, from, str("70"))
		wantValue(t, b.client, to, str("30"))

		// Another ID moves again, with its own record TTL.
		res, err := TransferOnce(ctx, b.client, from, to, 30, "order-2", &TransferOptions{RecordTTL: 10 * time.Second})
		if want := (TransferResult{From: 40, To: 60, Applied: true}); res != want || err != nil {
			t.Fatalf("order-2: TransferOnce = %+v, %v; want %+v, nil", res, err, want)
		}
		if d := pttl(t, b.client, keyspace.DeriveWith(from, kindTransferID, "order-2")); d <= 0 || d > 10*time.Second {
			t.Errorf("order-2 record PTTL = %v, want (0, 10s]", d)
		}

		// Once the record is gone (expired: forced here with DEL), the same
		// ID moves the amount again.
		b.client.Del(ctx, record)
		res, err = TransferOnce(ctx, b.client, from, to, 30, "order-1", nil)
		if want := (TransferResult{From: 10, To: 90, Applied: true}); res != want || err != nil {
			t.Fatalf("after the record expired: TransferOnce = %+v, %v; want %+v, nil", res, err, want)
		}

		// A refused transfer records nothing: after a deposit the retry moves.
		_, err = TransferOnce(ctx, b.client, from, to, 50, "order-3", nil)
		if !errors.Is(err, ErrInsufficientFunds) {
			t.Fatalf("order-3: err = %v, want ErrInsufficientFunds", err)
		}
		if _, ok := value(t, b.client, keyspace.DeriveWith(from, kindTransferID, "order-3")); ok {
			t.Error("a refused transfer left a record")
		}
		b.client.IncrBy(ctx, from, 40)
		res, err = TransferOnce(ctx, b.client, from, to, 50, "order-3", nil)
		if want := (TransferResult{From: 0, To: 140, Applied: true}); res != want || err != nil {
			t.Fatalf("order-3 after a deposit: TransferOnce = %+v, %v; want %+v, nil", res, err, want)
		}
	})
}

// A record that expires by itself (PEXPIRE, then polled until gone) lets
// the ID move the amount again. Real Redis only: miniredis expires keys
// only when its clock is moved by hand.
func TestTransferOnceAfterRecordExpires(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	from, to := "{bank}:alice", "{bank}:bob"
	b.client.Set(ctx, from, 100, 0)
	if _, err := TransferOnce(ctx, b.client, from, to, 10, "x", nil); err != nil {
		t.Fatal(err)
	}
	record := keyspace.DeriveWith(from, kindTransferID, "x")
	if err := b.client.PExpire(ctx, record, time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.client.Exists(ctx, record).Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("record did not expire within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	res, err := TransferOnce(ctx, b.client, from, to, 10, "x", nil)
	if want := (TransferResult{From: 80, To: 20, Applied: true}); res != want || err != nil {
		t.Fatalf("after expiry: TransferOnce = %+v, %v; want %+v, nil", res, err, want)
	}
}

// lostReply is a go-redis hook that, once armed, lets a script run on the
// server and then reports its reply lost, as a timeout or a dropped
// connection would.
type lostReply struct {
	mu    sync.Mutex
	armed bool
}

var errLostReply = errors.New("read tcp: i/o timeout (test: reply dropped)")

func (h *lostReply) arm() { h.mu.Lock(); h.armed = true; h.mu.Unlock() }

func (h *lostReply) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *lostReply) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if name := cmd.Name(); err == nil && (name == "evalsha" || name == "eval") {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.armed {
				h.armed = false
				cmd.SetErr(errLostReply)
				return errLostReply
			}
		}
		return err
	}
}

func (h *lostReply) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// After a lost reply, retrying TransferOnce moves nothing more, while
// retrying Transfer moves the amount a second time.
func TestTransferOnceRetryAfterLostReply(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		hook := &lostReply{}
		b.client.AddHook(hook)
		from, to := "{bank}:alice", "{bank}:bob"
		b.client.Set(ctx, from, 100, 0)

		hook.arm()
		if _, err := TransferOnce(ctx, b.client, from, to, 30, "req-7", nil); !errors.Is(err, errLostReply) {
			t.Fatalf("first call err = %v, want the lost reply", err)
		}
		res, err := TransferOnce(ctx, b.client, from, to, 30, "req-7", nil)
		if want := (TransferResult{From: 70, To: 30, Applied: false}); res != want || err != nil {
			t.Fatalf("retry: TransferOnce = %+v, %v; want %+v, nil", res, err, want)
		}

		hook.arm()
		if _, err := Transfer(ctx, b.client, from, to, 30); !errors.Is(err, errLostReply) {
			t.Fatalf("Transfer err = %v, want the lost reply", err)
		}
		if res, err := Transfer(ctx, b.client, from, to, 30); res.From != 10 || err != nil {
			t.Fatalf("Transfer retry = %+v, %v; want From 10: Transfer is not idempotent", res, err)
		}
	})
}

// A balance of another type fails the call before anything is written.
func TestTransferWrongTypeChangesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		b.client.Set(ctx, "{bank}:a", 100, 0)
		b.client.RPush(ctx, "{bank}:b", "x")
		_, err := Transfer(ctx, b.client, "{bank}:a", "{bank}:b", 10)
		var se *ScriptError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want a *ScriptError (WRONGTYPE)", err)
		}
		wantValue(t, b.client, "{bank}:a", str("100"))
	})
}

func TestTransferMisuseSendsNothing(t *testing.T) {
	b := forMiniredis(t)
	ctx := context.Background()
	pipe := b.client.Pipeline()
	a, c := "{bank}:a", "{bank}:c"
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"nil client", func() error { _, err := Transfer(ctx, nil, a, c, 1); return err }, ErrNilClient},
		{"typed nil client", func() error { _, err := Transfer(ctx, (*redis.Client)(nil), a, c, 1); return err }, ErrNilClient},
		{"pipeline", func() error { _, err := Transfer(ctx, pipe, a, c, 1); return err }, ErrPipeline},
		{"empty from", func() error { _, err := Transfer(ctx, b.client, "", c, 1); return err }, ErrEmptyKey},
		{"empty to", func() error { _, err := Transfer(ctx, b.client, a, "", 1); return err }, ErrEmptyKey},
		{"same key", func() error { _, err := Transfer(ctx, b.client, a, a, 1); return err }, ErrSameKey},
		{"zero amount", func() error { _, err := Transfer(ctx, b.client, a, c, 0); return err }, ErrInvalidAmount},
		{"negative amount", func() error { _, err := Transfer(ctx, b.client, a, c, -5); return err }, ErrInvalidAmount},
		{"min int64 amount", func() error { _, err := Transfer(ctx, b.client, a, c, math.MinInt64); return err }, ErrInvalidAmount},
		{"cross-slot", func() error { _, err := Transfer(ctx, b.client, "{x}:a", "{y}:b", 1); return err }, ErrCrossSlot},
		{"once empty id", func() error { _, err := TransferOnce(ctx, b.client, a, c, 1, "", nil); return err }, ErrEmptyTransferID},
		{"once zero amount", func() error { _, err := TransferOnce(ctx, b.client, a, c, 0, "id", nil); return err }, ErrInvalidAmount},
		{"once same key", func() error { _, err := TransferOnce(ctx, b.client, a, a, 1, "id", nil); return err }, ErrSameKey},
		{"once pipeline", func() error { _, err := TransferOnce(ctx, pipe, a, c, 1, "id", nil); return err }, ErrPipeline},
		{"once bad TTL", func() error {
			_, err := TransferOnce(ctx, b.client, a, c, 1, "id", &TransferOptions{RecordTTL: time.Microsecond})
			return err
		}, ErrInvalidTTL},
		{"once cross-slot", func() error { _, err := TransferOnce(ctx, b.client, "{x}:a", "{y}:b", 1, "id", nil); return err }, ErrCrossSlot},
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if sent := b.sent.Take(); len(sent) != 0 {
			t.Errorf("%s: sent %v, want nothing", tt.name, sent)
		}
	}
	_, err := Transfer(ctx, b.client, "{x}:a", "{y}:b", 1)
	var cse *CrossSlotError
	if !errors.As(err, &cse) || len(cse.Keys) != 2 {
		t.Errorf("cross-slot err = %v, want a *CrossSlotError naming both keys", err)
	}
}

// The script refuses a bad amount itself, so a caller that runs it through
// the registry, past Transfer's check in Go, cannot move money backwards
// ("-5" would credit from and debit to) or write a record: the call fails
// and no key changes.
func TestTransferScriptRefusesABadAmount(t *testing.T) {
	amounts := []string{"-5", "0", "-0", "abc", "", "+5", "5.0", " 5", "05", minStr, "9223372036854775808"}
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		from, to, record := "{bank}:from", "{bank}:to", "{bank}:record"
		before := map[string]string{from: "100", to: "5"}
		script := prebuilt.MustScript("transfer/transfer")
		for _, amount := range amounts {
			for _, withRecord := range []bool{false, true} {
				for k, v := range before {
					b.client.Set(ctx, k, v, 0)
				}
				b.client.Del(ctx, record)
				keys, args := []string{from, to}, []any{amount, maxStr}
				if withRecord {
					keys, args = append(keys, record), append(args, 60000)
				}
				reply, err := script.Run(ctx, b.client, keys, args...).Result()
				if err == nil || !strings.Contains(err.Error(), "transfer amount must be a positive integer") {
					t.Errorf("amount %q (record %v): reply %v, err %v; want the script to refuse the amount", amount, withRecord, reply, err)
				}
				for k, v := range before {
					wantValue(t, b.client, k, str(v))
				}
				wantValue(t, b.client, record, nil)
			}
		}
		// The headroom is checked the same way.
		reply, err := script.Run(ctx, b.client, []string{from, to}, "5", "abc").Result()
		if err == nil || !strings.Contains(err.Error(), "positive integer") {
			t.Errorf("headroom \"abc\": reply %v, err %v; want a refusal", reply, err)
		}
		for k, v := range before {
			wantValue(t, b.client, k, str(v))
		}
	})
}

func TestBalanceErrorMessage(t *testing.T) {
	err := error(&BalanceError{Key: "{bank}:alice", Err: ErrInsufficientFunds})
	if got, want := err.Error(), `redislua: insufficient funds: key "{bank}:alice"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrInsufficientFunds) || errors.Is(err, ErrOverflow) {
		t.Errorf("errors.Is does not follow Err")
	}
}

func TestTransferOnCluster(t *testing.T) {
	cc := sharedCluster(t)
	ctx := context.Background()
	from, to := "xfer-test:{c1}:alice", "xfer-test:{c1}:bob"
	cc.Set(ctx, from, maxStr, 0)
	cc.Del(ctx, to, keyspace.DeriveWith(from, kindTransferID, "t1"))
	res, err := Transfer(ctx, cc, from, to, math.MaxInt64-1)
	if want := (TransferResult{From: 1, To: math.MaxInt64 - 1, Applied: true}); res != want || err != nil {
		t.Fatalf("Transfer = %+v, %v; want %+v, nil", res, err, want)
	}
	if _, err := Transfer(ctx, cc, to, from, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := Transfer(ctx, cc, from, to, math.MaxInt64); !errors.Is(err, ErrInsufficientFunds) {
		t.Fatalf("err = %v, want ErrInsufficientFunds", err)
	}
	for i := range 3 {
		res, err := TransferOnce(ctx, cc, from, to, 3, "t1", nil)
		if want := (TransferResult{From: 0, To: math.MaxInt64, Applied: i == 0}); res != want || err != nil {
			t.Fatalf("TransferOnce %d = %+v, %v; want %+v, nil", i, res, err, want)
		}
	}
	if _, err := Transfer(ctx, cc, "xfer-test:{c1}:a", "xfer-test:{c2}:b", 1); !errors.Is(err, ErrCrossSlot) {
		t.Fatalf("cross-slot err = %v, want ErrCrossSlot", err)
	}
	concurrentTransfers(t, cc, "xfer-test:{bank}:acct:", 32, 25)
}

// BenchmarkTransfer measures Transfer and TransferOnce on a real
// redis-server: one caller at a time, and many in parallel over 10
// balances.
func BenchmarkTransfer(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	b.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	if err := prebuilt.LoadAll(ctx, rdb); err != nil {
		b.Fatal(err)
	}
	accounts := make([]string, 10)
	for i := range accounts {
		accounts[i] = "{bench}:acct:" + strconv.Itoa(i)
		rdb.Set(ctx, accounts[i], math.MaxInt64/2, 0)
	}
	// The baseline: a hand-written transfer (examples/quickstart/lua/transfer.lua)
	// that does its arithmetic in doubles and returns one number.
	src, err := os.ReadFile("examples/quickstart/lua/transfer.lua")
	if err != nil {
		b.Fatal(err)
	}
	naive := MustNewScript("naive-transfer", string(src))
	b.Run("naive-script", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := naive.Run(ctx, rdb, []string{accounts[i%10], accounts[(i+1)%10]}, 1).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("transfer", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := Transfer(ctx, rdb, accounts[i%10], accounts[(i+1)%10], 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("transfer-parallel", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(next.Add(1))
				if _, err := Transfer(ctx, rdb, accounts[i%10], accounts[(i+3)%10], 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("transfer-once", func(b *testing.B) {
		b.ReportAllocs()
		opts := &TransferOptions{RecordTTL: time.Minute}
		for i := 0; b.Loop(); i++ {
			if _, err := TransferOnce(ctx, rdb, accounts[i%10], accounts[(i+1)%10], 1, strconv.Itoa(i), opts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Error texts stay short whatever the caller passes: a reused 1 MiB ID
// used to make a 1 MiB error.
func TestTransferErrorTextsStayShort(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	from, to := "{big}:a", "{big}:b"
	b.client.Set(ctx, from, 100, 0)
	id := strings.Repeat("x", 1<<20)
	if _, err := TransferOnce(ctx, b.client, from, to, 1, id, nil); err != nil {
		t.Fatal(err)
	}
	_, err := TransferOnce(ctx, b.client, from, to, 2, id, nil)
	if !errors.Is(err, ErrTransferIDReused) {
		t.Fatalf("err = %v, want ErrTransferIDReused", err)
	}
	if n := len(err.Error()); n > 400 {
		t.Errorf("error text is %d bytes, want a few hundred at most", n)
	}
	// Two long IDs that share their first bytes still read differently.
	other := strings.Repeat("x", 1<<20-1) + "y"
	if quoteKey(TransferRecordKey(from, id)) == quoteKey(TransferRecordKey(from, other)) {
		t.Error("two long keys quote alike")
	}
	big := "{big}:" + strings.Repeat("k", 1<<20)
	_, err = Transfer(ctx, b.client, big, to, 1000)
	var be *BalanceError
	if !errors.As(err, &be) || be.Key != big || len(err.Error()) > 400 {
		t.Errorf("BalanceError: key kept whole = %v, text %d bytes", be != nil && be.Key == big, len(err.Error()))
	}
}
