package transfer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/prebuilt"
)

// script moves an amount between two balances, once per ID when given an
// ID record key.
var script = prebuilt.Script("transfer/transfer")

// DefaultRecordTTL is how long MoveOnce remembers a transfer ID when
// Options.RecordTTL is zero.
const DefaultRecordTTL = 24 * time.Hour

// Errors of Move and MoveOnce. Those about a balance arrive inside a
// *BalanceError naming the key.
var (
	// ErrInsufficientFunds means the debited balance holds less than the
	// amount (a missing balance holds 0).
	ErrInsufficientFunds = errors.New("transfer: insufficient funds")
	// ErrOverflow means the credited balance plus the amount would exceed
	// the int64 maximum.
	ErrOverflow = errors.New("transfer: balance would overflow int64")
	// ErrNotInteger means a balance holds a string that is not a decimal
	// int64 as Redis's INCRBY reads it.
	ErrNotInteger = errors.New("transfer: balance is not an integer")
	// ErrInvalidAmount means an amount is zero or negative.
	ErrInvalidAmount = errors.New("transfer: amount must be positive")
	// ErrSameKey means a transfer names one key as both sides.
	ErrSameKey = errors.New("transfer: from a balance to itself")
	// ErrEmptyID means MoveOnce was given no ID.
	ErrEmptyID = errors.New("transfer: empty transfer ID")
	// ErrIDReused means a transfer ID's record belongs to a transfer with
	// another to key or another amount; nothing moved.
	ErrIDReused = errors.New("transfer: transfer ID already used for another transfer")
	// ErrInvalidTTL means Options.RecordTTL is negative, or positive but
	// under one millisecond, the smallest Redis keeps.
	ErrInvalidTTL = errors.New("transfer: invalid record TTL")
)

// BalanceError is a transfer refused because of one balance: its Err is
// ErrInsufficientFunds, ErrOverflow or ErrNotInteger, so errors.Is works
// on it, and Key names the balance. Nothing moved.
type BalanceError struct {
	// Key is the balance's key.
	Key string
	// Err is the reason: ErrInsufficientFunds, ErrOverflow or ErrNotInteger.
	Err error
}

// Error reads like `transfer: insufficient funds: key "{bank}:alice"`; a
// long key is cut.
func (e *BalanceError) Error() string { return e.Err.Error() + ": key " + prebuilt.Quote(e.Key) }

// Unwrap returns Err.
func (e *BalanceError) Unwrap() error { return e.Err }

// Result is the outcome of a transfer.
type Result struct {
	// From and To are the two balances right after the call. They are
	// also set, unchanged, with ErrInsufficientFunds and ErrOverflow.
	From, To int64
	// Applied is true when this call moved the amount, and false when
	// MoveOnce found it moved by an earlier call with the same ID.
	Applied bool
}

// Options tunes MoveOnce. A nil *Options means the zero value, whose
// fields all mean their defaults.
type Options struct {
	// RecordTTL is how long the transfer ID is remembered, at least 1ms
	// (ErrInvalidTTL otherwise), in whole milliseconds (rounded down);
	// zero means DefaultRecordTTL. A retry after the record expired moves
	// the amount again, so choose a TTL longer than any retry may come
	// late.
	RecordTTL time.Duration

	// WaitReplicas, when not zero, makes MoveOnce wait (in the same round
	// trip) until that many replicas have the transfer and its record. If
	// fewer acknowledge it in time, MoveOnce returns the result with a
	// *redislua.ReplicaError (redislua.ErrTooFewReplicas): the transfer is
	// applied on the master, and may still be lost if the master fails
	// before a replica gets it. Calling again with the same ID is safe
	// either way: it moves nothing if the transfer survived (and waits for
	// the replicas again), and moves the amount if it was lost with its
	// record. See redislua.Script.RunAndWait for the clients it works on
	// and for a bad value (redislua.ErrInvalidReplicas, nothing sent); an
	// ACL user needs +wait, or the transfer is applied and the call fails
	// with an error matching redislua.ErrNoPerm.
	WaitReplicas redislua.Replicas
}

// Move moves amount from the integer balance at key from to the one at
// key to, in one atomic step, and returns both balances after it. A
// missing balance counts as 0. It refuses, moving nothing, when from holds
// less than amount (ErrInsufficientFunds), when to would exceed the int64
// maximum (ErrOverflow), and when either key holds anything but a decimal
// integer (ErrNotInteger); these arrive as a *BalanceError naming the key.
// A key of another type (a list) fails the call with a
// *redislua.ScriptError matching redislua.ErrWrongType, also before
// anything moved. Every int64 is handled exactly.
//
// The keys must share a hash slot (give them a hash tag, "{bank}:alice"
// and "{bank}:bob"), on every client: otherwise the call fails with a
// *redislua.CrossSlotError. amount must be positive (ErrInvalidAmount),
// the keys non-empty (redislua.ErrEmptyKey), different (ErrSameKey) and
// not of the library's own form (redislua.ErrReservedKey, see
// docs/keys.md), and c neither nil (redislua.ErrNilClient) nor a pipeline
// (redislua.ErrPipeline); in all these cases nothing is sent.
//
// Move is not idempotent: if the reply is lost (a timeout, a dropped
// connection) the amount may or may not have moved, and calling again may
// move it twice. Use MoveOnce where a call may be retried. Replication is
// asynchronous: a failover can lose an acknowledged transfer, both sides
// of it.
func Move(ctx context.Context, c redis.Scripter, from, to string, amount int64) (Result, error) {
	if err := check(c, "transfer.Move", from, to, amount); err != nil {
		return Result{}, err
	}
	return run(ctx, c, []string{from, to}, amount, "", redislua.Replicas{})
}

// MoveOnce is Move with a caller-chosen ID (an order number, a request ID)
// that makes it safe to retry: the first call moves the amount and records
// the ID, in the same atomic step; later calls with the same ID, keys and
// amount move nothing and return the current balances with Applied false.
// A call with the same ID but another to key or amount fails with
// ErrIDReused, moving nothing. A refused call (insufficient funds,
// overflow, a non-integer balance) records nothing, so the same ID may be
// tried again once the balance allows it.
//
// An ID belongs to its from key: its record is RecordKey(from, id)
// ("{bank}:alice{}redislua:transfer:order-17"), in from's hash slot. It
// expires after opts.RecordTTL (DefaultRecordTTL by default). An empty ID
// is ErrEmptyID and a bad RecordTTL ErrInvalidTTL, with nothing sent; the
// other checks are Move's.
//
// The move and the record are one script's writes: a failover keeps both
// or loses both, so a retry with the same ID after a failover either finds
// the record or moves the amount once. opts.WaitReplicas narrows the
// window in which an acknowledged transfer can be lost that way.
func MoveOnce(ctx context.Context, c redis.Scripter, from, to string, amount int64, id string, opts *Options) (Result, error) {
	if err := check(c, "transfer.MoveOnce", from, to, amount); err != nil {
		return Result{}, err
	}
	if id == "" {
		return Result{}, ErrEmptyID
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.RecordTTL == 0 {
		o.RecordTTL = DefaultRecordTTL
	}
	ttl, err := prebuilt.Millis(o.RecordTTL, ErrInvalidTTL)
	if err != nil {
		return Result{}, err
	}
	return run(ctx, c, []string{from, to, RecordKey(from, id)}, amount, ttl, o.WaitReplicas)
}

// RecordKey returns the key in which MoveOnce records transfer ID id of
// balance from, in from's hash slot (see docs/keys.md): delete it to
// forget the ID before its TTL.
func RecordKey(from, id string) string {
	return keyspace.DeriveWith(from, keyspace.KindTransferID, id)
}

// check catches misuse before anything is sent.
func check(c redis.Scripter, call, from, to string, amount int64) error {
	if err := prebuilt.CheckDirectClient(c, call); err != nil {
		return err
	}
	if err := prebuilt.CheckKey(from, call+" from"); err != nil {
		return err
	}
	if err := prebuilt.CheckKey(to, call+" to"); err != nil {
		return err
	}
	switch {
	case from == to:
		return fmt.Errorf("%w: key %s", ErrSameKey, prebuilt.Quote(from))
	case amount <= 0:
		return ErrInvalidAmount
	}
	return nil
}

// run runs the transfer script on keys (from, to and maybe the ID record)
// and reads its reply, waiting for replicas as wait asks. The script gets
// the amount and the credited balance's headroom (int64 maximum minus the
// amount) as decimal strings, so that it needs no arithmetic of its own.
func run(ctx context.Context, c redis.Scripter, keys []string, amount int64, recordTTL string, wait redislua.Replicas) (Result, error) {
	args := make([]any, 2, 4)
	args[0], args[1] = strconv.FormatInt(amount, 10), strconv.FormatInt(math.MaxInt64-amount, 10)
	if recordTTL != "" {
		args = append(args, recordTTL)
		if wait != (redislua.Replicas{}) {
			args = append(args, "touch")
		}
	}
	cmd, waitErr := script.RunAndWait(ctx, c, wait, keys, args...)
	reply, err := cmd.Slice()
	if err != nil {
		return Result{}, err
	}
	var status string
	if len(reply) > 0 {
		status, _ = reply[0].(string)
	}
	from, to := keys[0], keys[1]
	var refused error
	switch status {
	case "applied", "already":
	case "insufficient":
		refused = &BalanceError{Key: from, Err: ErrInsufficientFunds}
	case "overflow":
		refused = &BalanceError{Key: to, Err: ErrOverflow}
	case "notint-from":
		return Result{}, &BalanceError{Key: from, Err: ErrNotInteger}
	case "notint-to":
		return Result{}, &BalanceError{Key: to, Err: ErrNotInteger}
	case "reused":
		return Result{}, fmt.Errorf("%w: record %s", ErrIDReused, prebuilt.Quote(keys[2]))
	default:
		return Result{}, fmt.Errorf("transfer: unexpected reply status %q", status)
	}
	res, err := balances(reply, from, to)
	if err != nil {
		return Result{}, err
	}
	res.Applied = status == "applied"
	if refused != nil {
		return res, refused
	}
	return res, waitErr
}

// balances reads the balances of a transfer reply, exactly.
func balances(reply []any, from, to string) (Result, error) {
	var res Result
	var ok bool
	if res.From, ok = replyInt64(reply, 1); !ok {
		return Result{}, &BalanceError{Key: from, Err: ErrNotInteger}
	}
	if res.To, ok = replyInt64(reply, 2); !ok {
		return Result{}, &BalanceError{Key: to, Err: ErrNotInteger}
	}
	return res, nil
}

// replyInt64 parses reply[i], a decimal string.
func replyInt64(reply []any, i int) (int64, bool) {
	if i >= len(reply) {
		return 0, false
	}
	s, ok := reply[i].(string)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
