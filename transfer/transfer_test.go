package transfer_test

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

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/prebuilt"
	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
	"github.com/redislua/redislua/transfer"
)

// TestMain stops the Redis Cluster that tests share (started on first use
// by testbackend.SharedCluster) after all tests ran.
func TestMain(m *testing.M) { redistest.Main(m) }

const (
	maxStr = "9223372036854775807"
	minStr = "-9223372036854775808"
)

// str returns a pointer to s, for table fields where nil means "missing".
func str(s string) *string { return &s }

// setBalances makes from and to hold the given values, or be missing for nil.
func setBalances(t *testing.T, c redis.Cmdable, from, to string, fromVal, toVal *string) {
	t.Helper()
	testbackend.SetOrDelete(t, c, from, fromVal)
	testbackend.SetOrDelete(t, c, to, toVal)
}

func TestMoveExact(t *testing.T) {
	tests := []struct {
		name             string
		from, to         *string // nil: missing
		amount           int64
		wantFrom, wantTo *string // after; nil: missing
		wantErr          error
		wantKey          string // "from" or "to": the key a *transfer.BalanceError names
	}{
		{"simple", str("100"), str("5"), 30, str("70"), str("35"), nil, ""},
		{"to missing counts as 0", str("100"), nil, 30, str("70"), str("30"), nil, ""},
		{"whole balance", str("30"), str("0"), 30, str("0"), str("30"), nil, ""},
		{"from missing is empty", nil, str("5"), 1, nil, str("5"), transfer.ErrInsufficientFunds, "from"},
		{"one short", str("29"), str("5"), 30, str("29"), str("5"), transfer.ErrInsufficientFunds, "from"},
		{"negative from", str("-1"), str("5"), 1, str("-1"), str("5"), transfer.ErrInsufficientFunds, "from"},
		{"min int64 from", str(minStr), str("5"), 1, str(minStr), str("5"), transfer.ErrInsufficientFunds, "from"},
		{"min int64 from, max amount", str(minStr), str("0"), math.MaxInt64, str(minStr), str("0"), transfer.ErrInsufficientFunds, "from"},
		{"max from, max amount, one short", str("9223372036854775806"), str("0"), math.MaxInt64, str("9223372036854775806"), str("0"), transfer.ErrInsufficientFunds, "from"},
		// 2^53+1 is not a double: doubles would give 9007199254740990 and ...94.
		{"above 2^53", str("9007199254740993"), str("9007199254740993"), 2, str("9007199254740991"), str("9007199254740995"), nil, ""},
		{"near 2^62", str("4611686018427387905"), str("4611686018427387903"), 1 << 62, str("1"), str(maxStr), nil, ""},
		{"max int64 moves whole", str(maxStr), str("0"), math.MaxInt64, str("0"), str(maxStr), nil, ""},
		{"max int64 minus one", str(maxStr), nil, 1, str("9223372036854775806"), str("1"), nil, ""},
		{"to reaches max exactly", str("10"), str("9223372036854775802"), 5, str("5"), str(maxStr), nil, ""},
		{"to one past max", str("10"), str("9223372036854775802"), 6, str("10"), str("9223372036854775802"), transfer.ErrOverflow, "to"},
		{"to at max", str("10"), str(maxStr), 1, str("10"), str(maxStr), transfer.ErrOverflow, "to"},
		{"huge move overflows to", str(maxStr), str("1"), math.MaxInt64, str(maxStr), str("1"), transfer.ErrOverflow, "to"},
		{"min int64 to", str(maxStr), str(minStr), math.MaxInt64, str("0"), str("-1"), nil, ""},
		{"negative to", str("10"), str("-5"), 10, str("0"), str("5"), nil, ""},
		{"from not a number", str("abc"), str("5"), 1, str("abc"), str("5"), transfer.ErrNotInteger, "from"},
		{"to a float", str("10"), str("1.5"), 1, str("10"), str("1.5"), transfer.ErrNotInteger, "to"},
		{"leading zero", str("007"), str("5"), 1, str("007"), str("5"), transfer.ErrNotInteger, "from"},
		{"to empty string", str("10"), str(""), 1, str("10"), str(""), transfer.ErrNotInteger, "to"},
		{"from past max", str("9223372036854775808"), str("5"), 1, str("9223372036854775808"), str("5"), transfer.ErrNotInteger, "from"},
	}
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		from, to := "{bank}:from", "{bank}:to"
		for _, tc := range tests {
			setBalances(t, b.Client, from, to, tc.from, tc.to)
			res, err := transfer.Move(ctx, b.Client, from, to, tc.amount)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("%s: Move err = %v, want %v", tc.name, err, tc.wantErr)
			}
			testbackend.WantValue(t, b.Client, from, tc.wantFrom)
			testbackend.WantValue(t, b.Client, to, tc.wantTo)
			if tc.wantKey != "" {
				var be *transfer.BalanceError
				want := map[string]string{"from": from, "to": to}[tc.wantKey]
				if !errors.As(err, &be) || be.Key != want {
					t.Errorf("%s: err = %v, want a *transfer.BalanceError naming %q", tc.name, err, want)
				}
			}
			if errors.Is(err, transfer.ErrNotInteger) {
				continue
			}
			// Balances in the result, on success and on a refusal.
			wantRes := transfer.Result{From: atoi(tc.wantFrom), To: atoi(tc.wantTo), Applied: err == nil}
			if res != wantRes {
				t.Errorf("%s: Move = %+v, want %+v", tc.name, res, wantRes)
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
func TestIntegerCheckMatchesRedis(t *testing.T) {
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
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		for _, v := range values {
			want := redisInteger(v)
			if b.Real {
				b.Client.Set(ctx, "{probe}", v, 0)
				if got := b.Client.IncrBy(ctx, "{probe}", 0).Err() == nil; got != want {
					t.Fatalf("INCRBY of %q works = %v, but the test's oracle says %v", v, got, want)
				}
			}
			// On the credited side (amount 1; MaxInt64 overflows instead).
			setBalances(t, b.Client, "{bank}:a", "{bank}:b", str("10"), &v)
			_, err := transfer.Move(ctx, b.Client, "{bank}:a", "{bank}:b", 1)
			if got := !errors.Is(err, transfer.ErrNotInteger); got != want {
				t.Errorf("to %q: Move err = %v, integer = %v; want integer %v", v, err, got, want)
			}
			if !want {
				testbackend.WantValue(t, b.Client, "{bank}:a", str("10"))
			}
			// On the debited side.
			setBalances(t, b.Client, "{bank}:a", "{bank}:b", &v, str("0"))
			_, err = transfer.Move(ctx, b.Client, "{bank}:a", "{bank}:b", 1)
			if got := !errors.Is(err, transfer.ErrNotInteger); got != want {
				t.Errorf("from %q: Move err = %v, integer = %v; want integer %v", v, err, got, want)
			}
			if !want {
				testbackend.WantValue(t, b.Client, "{bank}:b", str("0"))
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

// Move against a math/big model, with balances and amounts near the
// int64 limits and 2^53.
func TestMoveMatchesBigIntModel(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
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
			setBalances(t, b.Client, "{bank}:a", "{bank}:b", &fs, &ts)

			wantFrom, wantTo := big.NewInt(from), big.NewInt(to)
			var wantErr error
			switch {
			case from < amount:
				wantErr = transfer.ErrInsufficientFunds
			case new(big.Int).Add(wantTo, big.NewInt(amount)).Cmp(maxBig) > 0:
				wantErr = transfer.ErrOverflow
			default:
				wantFrom.Sub(wantFrom, big.NewInt(amount))
				wantTo.Add(wantTo, big.NewInt(amount))
			}
			counts[fmt.Sprint(wantErr)]++

			res, err := transfer.Move(ctx, b.Client, "{bank}:a", "{bank}:b", amount)
			if !errors.Is(err, wantErr) || (wantErr == nil) != (err == nil) {
				t.Fatalf("%d: transfer.Move(%d -> %d, %d) err = %v, want %v", i, from, to, amount, err, wantErr)
			}
			testbackend.WantValue(t, b.Client, "{bank}:a", str(wantFrom.String()))
			testbackend.WantValue(t, b.Client, "{bank}:b", str(wantTo.String()))
			if res.From != wantFrom.Int64() || res.To != wantTo.Int64() {
				t.Fatalf("%d: transfer.Move(%d -> %d, %d) = %+v, want %v and %v", i, from, to, amount, res, wantFrom, wantTo)
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
				res, err := transfer.Move(ctx, c, keys[f], keys[to], amount)
				switch {
				case err == nil:
					if res.From < 0 || res.To < amount || !res.Applied {
						errs <- fmt.Errorf("transfer.Move(%d -> %d, %d) = %+v", f, to, amount, res)
						return
					}
					mu.Lock()
					applied = append(applied, move{f, to, amount})
					mu.Unlock()
				case errors.Is(err, transfer.ErrInsufficientFunds):
					if res.From >= amount || res.From < 0 {
						errs <- fmt.Errorf("refused transfer.Move(%d -> %d, %d) reports balance %d", f, to, amount, res.From)
						return
					}
					mu.Lock()
					refused++
					mu.Unlock()
				default:
					errs <- fmt.Errorf("transfer.Move(%d -> %d, %d): %w", f, to, amount, err)
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

func TestMoveConcurrent(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		concurrentTransfers(t, b.Client, "{bank}:acct:", 32, 40)
	})
}

func TestMoveOnce(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		from, to := "{bank}:alice", "{bank}:bob"
		b.Client.Set(ctx, from, 100, 0)
		b.Client.Del(ctx, to)
		for i := range 5 {
			res, err := transfer.MoveOnce(ctx, b.Client, from, to, 30, "order-1", nil)
			want := transfer.Result{From: 70, To: 30, Applied: i == 0}
			if res != want || err != nil {
				t.Fatalf("call %d: MoveOnce = %+v, %v; want %+v, nil", i+1, res, err, want)
			}
		}
		record := transfer.RecordKey(from, "order-1")
		if d := testbackend.PTTL(t, b.Client, record); d <= transfer.DefaultRecordTTL-time.Minute || d > transfer.DefaultRecordTTL {
			t.Errorf("record PTTL = %v, want about %v", d, transfer.DefaultRecordTTL)
		}

		// The same ID with other parameters moves nothing.
		for _, tc := range []struct {
			to     string
			amount int64
		}{{to, 31}, {"{bank}:carol", 30}} {
			_, err := transfer.MoveOnce(ctx, b.Client, from, tc.to, tc.amount, "order-1", nil)
			if !errors.Is(err, transfer.ErrIDReused) {
				t.Errorf("reuse with %s, %d: err = %v, want transfer.ErrIDReused", tc.to, tc.amount, err)
			}
		}
		testbackend.WantValue(t, b.Client, from, str("70"))
		testbackend.WantValue(t, b.Client, to, str("30"))

		// Another ID moves again, with its own record TTL.
		res, err := transfer.MoveOnce(ctx, b.Client, from, to, 30, "order-2", &transfer.Options{RecordTTL: 10 * time.Second})
		if want := (transfer.Result{From: 40, To: 60, Applied: true}); res != want || err != nil {
			t.Fatalf("order-2: MoveOnce = %+v, %v; want %+v, nil", res, err, want)
		}
		if d := testbackend.PTTL(t, b.Client, transfer.RecordKey(from, "order-2")); d <= 0 || d > 10*time.Second {
			t.Errorf("order-2 record PTTL = %v, want (0, 10s]", d)
		}

		// Once the record is gone (expired: forced here with DEL), the same
		// ID moves the amount again.
		b.Client.Del(ctx, record)
		res, err = transfer.MoveOnce(ctx, b.Client, from, to, 30, "order-1", nil)
		if want := (transfer.Result{From: 10, To: 90, Applied: true}); res != want || err != nil {
			t.Fatalf("after the record expired: MoveOnce = %+v, %v; want %+v, nil", res, err, want)
		}

		// A refused transfer records nothing: after a deposit the retry moves.
		_, err = transfer.MoveOnce(ctx, b.Client, from, to, 50, "order-3", nil)
		if !errors.Is(err, transfer.ErrInsufficientFunds) {
			t.Fatalf("order-3: err = %v, want transfer.ErrInsufficientFunds", err)
		}
		if _, ok := testbackend.Value(t, b.Client, transfer.RecordKey(from, "order-3")); ok {
			t.Error("a refused transfer left a record")
		}
		b.Client.IncrBy(ctx, from, 40)
		res, err = transfer.MoveOnce(ctx, b.Client, from, to, 50, "order-3", nil)
		if want := (transfer.Result{From: 0, To: 140, Applied: true}); res != want || err != nil {
			t.Fatalf("order-3 after a deposit: MoveOnce = %+v, %v; want %+v, nil", res, err, want)
		}
	})
}

// A record that expires by itself (PEXPIRE, then polled until gone) lets
// the ID move the amount again. Real Redis only: miniredis expires keys
// only when its clock is moved by hand.
func TestMoveOnceAfterRecordExpires(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	from, to := "{bank}:alice", "{bank}:bob"
	b.Client.Set(ctx, from, 100, 0)
	if _, err := transfer.MoveOnce(ctx, b.Client, from, to, 10, "x", nil); err != nil {
		t.Fatal(err)
	}
	record := transfer.RecordKey(from, "x")
	if err := b.Client.PExpire(ctx, record, time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.Client.Exists(ctx, record).Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("record did not expire within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	res, err := transfer.MoveOnce(ctx, b.Client, from, to, 10, "x", nil)
	if want := (transfer.Result{From: 80, To: 20, Applied: true}); res != want || err != nil {
		t.Fatalf("after expiry: MoveOnce = %+v, %v; want %+v, nil", res, err, want)
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

// After a lost reply, retrying MoveOnce moves nothing more, while
// retrying Move moves the amount a second time.
func TestMoveOnceRetryAfterLostReply(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		hook := &lostReply{}
		b.Client.AddHook(hook)
		from, to := "{bank}:alice", "{bank}:bob"
		b.Client.Set(ctx, from, 100, 0)

		hook.arm()
		if _, err := transfer.MoveOnce(ctx, b.Client, from, to, 30, "req-7", nil); !errors.Is(err, errLostReply) {
			t.Fatalf("first call err = %v, want the lost reply", err)
		}
		res, err := transfer.MoveOnce(ctx, b.Client, from, to, 30, "req-7", nil)
		if want := (transfer.Result{From: 70, To: 30, Applied: false}); res != want || err != nil {
			t.Fatalf("retry: MoveOnce = %+v, %v; want %+v, nil", res, err, want)
		}

		hook.arm()
		if _, err := transfer.Move(ctx, b.Client, from, to, 30); !errors.Is(err, errLostReply) {
			t.Fatalf("Move err = %v, want the lost reply", err)
		}
		if res, err := transfer.Move(ctx, b.Client, from, to, 30); res.From != 10 || err != nil {
			t.Fatalf("Move retry = %+v, %v; want From 10: Move is not idempotent", res, err)
		}
	})
}

// A balance of another type fails the call before anything is written.
func TestMoveWrongTypeChangesNothing(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		b.Client.Set(ctx, "{bank}:a", 100, 0)
		b.Client.RPush(ctx, "{bank}:b", "x")
		_, err := transfer.Move(ctx, b.Client, "{bank}:a", "{bank}:b", 10)
		var se *redislua.ScriptError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want a *redislua.ScriptError (WRONGTYPE)", err)
		}
		testbackend.WantValue(t, b.Client, "{bank}:a", str("100"))
	})
}

func TestMisuseSendsNothing(t *testing.T) {
	b := testbackend.Miniredis(t)
	ctx := context.Background()
	pipe := b.Client.Pipeline()
	a, c := "{bank}:a", "{bank}:c"
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"nil client", func() error { _, err := transfer.Move(ctx, nil, a, c, 1); return err }, redislua.ErrNilClient},
		{"typed nil client", func() error { _, err := transfer.Move(ctx, (*redis.Client)(nil), a, c, 1); return err }, redislua.ErrNilClient},
		{"pipeline", func() error { _, err := transfer.Move(ctx, pipe, a, c, 1); return err }, redislua.ErrPipeline},
		{"empty from", func() error { _, err := transfer.Move(ctx, b.Client, "", c, 1); return err }, redislua.ErrEmptyKey},
		{"empty to", func() error { _, err := transfer.Move(ctx, b.Client, a, "", 1); return err }, redislua.ErrEmptyKey},
		{"same key", func() error { _, err := transfer.Move(ctx, b.Client, a, a, 1); return err }, transfer.ErrSameKey},
		{"zero amount", func() error { _, err := transfer.Move(ctx, b.Client, a, c, 0); return err }, transfer.ErrInvalidAmount},
		{"negative amount", func() error { _, err := transfer.Move(ctx, b.Client, a, c, -5); return err }, transfer.ErrInvalidAmount},
		{"min int64 amount", func() error { _, err := transfer.Move(ctx, b.Client, a, c, math.MinInt64); return err }, transfer.ErrInvalidAmount},
		{"cross-slot", func() error { _, err := transfer.Move(ctx, b.Client, "{x}:a", "{y}:b", 1); return err }, redislua.ErrCrossSlot},
		{"once empty id", func() error { _, err := transfer.MoveOnce(ctx, b.Client, a, c, 1, "", nil); return err }, transfer.ErrEmptyID},
		{"once zero amount", func() error { _, err := transfer.MoveOnce(ctx, b.Client, a, c, 0, "id", nil); return err }, transfer.ErrInvalidAmount},
		{"once same key", func() error { _, err := transfer.MoveOnce(ctx, b.Client, a, a, 1, "id", nil); return err }, transfer.ErrSameKey},
		{"once pipeline", func() error { _, err := transfer.MoveOnce(ctx, pipe, a, c, 1, "id", nil); return err }, redislua.ErrPipeline},
		{"once bad TTL", func() error {
			_, err := transfer.MoveOnce(ctx, b.Client, a, c, 1, "id", &transfer.Options{RecordTTL: time.Microsecond})
			return err
		}, transfer.ErrInvalidTTL},
		{"once cross-slot", func() error { _, err := transfer.MoveOnce(ctx, b.Client, "{x}:a", "{y}:b", 1, "id", nil); return err }, redislua.ErrCrossSlot},
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if sent := b.Sent.Take(); len(sent) != 0 {
			t.Errorf("%s: sent %v, want nothing", tt.name, sent)
		}
	}
	_, err := transfer.Move(ctx, b.Client, "{x}:a", "{y}:b", 1)
	var cse *redislua.CrossSlotError
	if !errors.As(err, &cse) || len(cse.Keys) != 2 {
		t.Errorf("cross-slot err = %v, want a *redislua.CrossSlotError naming both keys", err)
	}
}

// The script refuses a bad amount itself, so a caller that runs it through
// the registry, past Move's check in Go, cannot move money backwards
// ("-5" would credit from and debit to) or write a record: the call fails
// and no key changes.
func TestScriptRefusesABadAmount(t *testing.T) {
	amounts := []string{"-5", "0", "-0", "abc", "", "+5", "5.0", " 5", "05", minStr, "9223372036854775808"}
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		from, to, record := "{bank}:from", "{bank}:to", "{bank}:record"
		before := map[string]string{from: "100", to: "5"}
		script := prebuilt.Script("transfer/transfer")
		for _, amount := range amounts {
			for _, withRecord := range []bool{false, true} {
				for k, v := range before {
					b.Client.Set(ctx, k, v, 0)
				}
				b.Client.Del(ctx, record)
				keys, args := []string{from, to}, []any{amount, maxStr}
				if withRecord {
					keys, args = append(keys, record), append(args, 60000)
				}
				reply, err := script.Run(ctx, b.Client, keys, args...).Result()
				if err == nil || !strings.Contains(err.Error(), "transfer amount must be a positive integer") {
					t.Errorf("amount %q (record %v): reply %v, err %v; want the script to refuse the amount", amount, withRecord, reply, err)
				}
				for k, v := range before {
					testbackend.WantValue(t, b.Client, k, str(v))
				}
				testbackend.WantValue(t, b.Client, record, nil)
			}
		}
		// The headroom is checked the same way.
		reply, err := script.Run(ctx, b.Client, []string{from, to}, "5", "abc").Result()
		if err == nil || !strings.Contains(err.Error(), "positive integer") {
			t.Errorf("headroom \"abc\": reply %v, err %v; want a refusal", reply, err)
		}
		for k, v := range before {
			testbackend.WantValue(t, b.Client, k, str(v))
		}
	})
}

func TestBalanceErrorMessage(t *testing.T) {
	err := error(&transfer.BalanceError{Key: "{bank}:alice", Err: transfer.ErrInsufficientFunds})
	if got, want := err.Error(), `transfer: insufficient funds: key "{bank}:alice"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, transfer.ErrInsufficientFunds) || errors.Is(err, transfer.ErrOverflow) {
		t.Errorf("errors.Is does not follow Err")
	}
}

func TestOnCluster(t *testing.T) {
	cc := testbackend.SharedCluster(t)
	ctx := context.Background()
	from, to := "xfer-test:{c1}:alice", "xfer-test:{c1}:bob"
	cc.Set(ctx, from, maxStr, 0)
	cc.Del(ctx, to, transfer.RecordKey(from, "t1"))
	res, err := transfer.Move(ctx, cc, from, to, math.MaxInt64-1)
	if want := (transfer.Result{From: 1, To: math.MaxInt64 - 1, Applied: true}); res != want || err != nil {
		t.Fatalf("Move = %+v, %v; want %+v, nil", res, err, want)
	}
	if _, err := transfer.Move(ctx, cc, to, from, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := transfer.Move(ctx, cc, from, to, math.MaxInt64); !errors.Is(err, transfer.ErrInsufficientFunds) {
		t.Fatalf("err = %v, want transfer.ErrInsufficientFunds", err)
	}
	for i := range 3 {
		res, err := transfer.MoveOnce(ctx, cc, from, to, 3, "t1", nil)
		if want := (transfer.Result{From: 0, To: math.MaxInt64, Applied: i == 0}); res != want || err != nil {
			t.Fatalf("MoveOnce %d = %+v, %v; want %+v, nil", i, res, err, want)
		}
	}
	if _, err := transfer.Move(ctx, cc, "xfer-test:{c1}:a", "xfer-test:{c2}:b", 1); !errors.Is(err, redislua.ErrCrossSlot) {
		t.Fatalf("cross-slot err = %v, want redislua.ErrCrossSlot", err)
	}
	concurrentTransfers(t, cc, "xfer-test:{bank}:acct:", 32, 25)
}

// BenchmarkMove measures Move and MoveOnce on a real redis-server: one
// caller at a time, and many in parallel over 10 balances.
func BenchmarkMove(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	b.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	if err := prebuilt.Registry.LoadAll(ctx, rdb); err != nil {
		b.Fatal(err)
	}
	accounts := make([]string, 10)
	for i := range accounts {
		accounts[i] = "{bench}:acct:" + strconv.Itoa(i)
		rdb.Set(ctx, accounts[i], math.MaxInt64/2, 0)
	}
	// The baseline: a hand-written transfer (the quick start's
	// lua/transfer.lua) that does its arithmetic in doubles and returns one
	// number.
	src, err := os.ReadFile("../examples/quickstart/lua/transfer.lua")
	if err != nil {
		b.Fatal(err)
	}
	naive := redislua.MustNewScript("naive-transfer", string(src))
	b.Run("naive-script", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := naive.Run(ctx, rdb, []string{accounts[i%10], accounts[(i+1)%10]}, 1).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("move", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := transfer.Move(ctx, rdb, accounts[i%10], accounts[(i+1)%10], 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("move-parallel", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(next.Add(1))
				if _, err := transfer.Move(ctx, rdb, accounts[i%10], accounts[(i+3)%10], 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("move-once", func(b *testing.B) {
		b.ReportAllocs()
		opts := &transfer.Options{RecordTTL: time.Minute}
		for i := 0; b.Loop(); i++ {
			if _, err := transfer.MoveOnce(ctx, rdb, accounts[i%10], accounts[(i+1)%10], 1, strconv.Itoa(i), opts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Error texts stay short whatever the caller passes: a reused 1 MiB ID
// used to make a 1 MiB error.
func TestErrorTextsStayShort(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	from, to := "{big}:a", "{big}:b"
	b.Client.Set(ctx, from, 100, 0)
	id := strings.Repeat("x", 1<<20)
	if _, err := transfer.MoveOnce(ctx, b.Client, from, to, 1, id, nil); err != nil {
		t.Fatal(err)
	}
	_, err := transfer.MoveOnce(ctx, b.Client, from, to, 2, id, nil)
	if !errors.Is(err, transfer.ErrIDReused) {
		t.Fatalf("err = %v, want transfer.ErrIDReused", err)
	}
	if n := len(err.Error()); n > 400 {
		t.Errorf("error text is %d bytes, want a few hundred at most", n)
	}
	// Two long IDs that share their first bytes still read differently.
	other := strings.Repeat("x", 1<<20-1) + "y"
	if prebuilt.Quote(transfer.RecordKey(from, id)) == prebuilt.Quote(transfer.RecordKey(from, other)) {
		t.Error("two long keys quote alike")
	}
	big := "{big}:" + strings.Repeat("k", 1<<20)
	_, err = transfer.Move(ctx, b.Client, big, to, 1000)
	var be *transfer.BalanceError
	if !errors.As(err, &be) || be.Key != big || len(err.Error()) > 400 {
		t.Errorf("BalanceError: key kept whole = %v, text %d bytes", be != nil && be.Key == big, len(err.Error()))
	}
}

// nilScripter is a caller's own client type, whose methods need a value.
type nilScripter struct{ redis.Scripter }

// A typed nil of any client type is ErrNilClient, never a panic: the
// switch over go-redis's clients missed *redis.Tx (a transaction's
// connection) and callers' own types, and a transfer on a nil *redis.Tx
// dereferenced it.
func TestTypedNilClients(t *testing.T) {
	ctx := context.Background()
	for _, c := range []redis.Scripter{(*redis.Tx)(nil), (*nilScripter)(nil)} {
		calls := map[string]func() error{
			"Move": func() error {
				_, err := transfer.Move(ctx, c, "{b}:a", "{b}:b", 1)
				return err
			},
			"MoveOnce": func() error {
				_, err := transfer.MoveOnce(ctx, c, "{b}:a", "{b}:b", 1, "id", nil)
				return err
			},
		}
		testbackend.ExpectError(t, testbackend.TypeName(c), redislua.ErrNilClient, calls)
	}
}

// A user key equal to a key the library derives is refused before anything
// is sent: otherwise MoveOnce(from "{b}:a", to its own ID record) moved 40
// into the record and lost it.
func TestReservedKeysAreRefusedBeforeSending(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	from := "{b}:a"
	record := transfer.RecordKey(from, "x")
	b.Client.Set(ctx, from, 100, 0)
	b.Sent.Take()

	calls := map[string]func() error{
		"MoveOnce to its own record": func() error {
			_, err := transfer.MoveOnce(ctx, b.Client, from, record, 40, "x", nil)
			return err
		},
		"Move from a record": func() error {
			_, err := transfer.Move(ctx, b.Client, record, from, 1)
			return err
		},
	}
	testbackend.ExpectRefusedBeforeSending(t, b, redislua.ErrReservedKey, calls)
	testbackend.WantValue(t, b.Client, from, str("100"))
	if n := b.Client.DBSize(ctx).Val(); n != 1 {
		t.Errorf("DBSIZE = %d, want 1: a refused call wrote", n)
	}
}

// Distinct from keys never share ID records: one ID on each from key of a
// pair moves twice, on a server and on a cluster.
func TestRecordsAreNotShared(t *testing.T) {
	clients := testbackend.ServerAndCluster(t)
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for _, p := range testbackend.SharedStatePairs {
				for _, k := range p {
					c.Del(ctx, k, transfer.RecordKey(k, "id-1"))
				}
				for _, from := range p {
					// A to key in from's slot: after from if it has a
					// hash tag, else with from as the tag.
					to := from + ":keys-test-to"
					if redislua.Slot(to) != redislua.Slot(from) {
						to = "{" + from + "}:keys-test-to"
					}
					if redislua.Slot(to) != redislua.Slot(from) {
						continue // no simple key in from's slot; covered by keyspace's tests
					}
					c.Set(ctx, from, 10, 0)
					if res, err := transfer.MoveOnce(ctx, c, from, to, 1, "id-1", nil); err != nil || !res.Applied {
						t.Errorf("MoveOnce from %q = %+v, %v; want applied: the ID record is shared", from, res, err)
					}
					c.Del(ctx, from, to)
				}
				for _, k := range p {
					c.Del(ctx, k, transfer.RecordKey(k, "id-1"))
				}
			}
		})
	}
}
