package redislua

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redislua/redislua/internal/keyspace"
)

// transferScript moves an amount between two balances, once per ID when
// given an ID record key.
var transferScript = prebuilt.MustScript("transfer/transfer")

// DefaultTransferRecordTTL is how long TransferOnce remembers a transfer ID
// when TransferOptions.RecordTTL is zero.
const DefaultTransferRecordTTL = 24 * time.Hour

// Errors of Transfer and TransferOnce. Those about a balance arrive inside
// a *BalanceError naming the key.
var (
	// ErrInsufficientFunds means the debited balance holds less than the
	// amount (a missing balance holds 0).
	ErrInsufficientFunds = errors.New("redislua: insufficient funds")
	// ErrOverflow means the credited balance plus the amount would exceed
	// the int64 maximum.
	ErrOverflow = errors.New("redislua: balance would overflow int64")
	// ErrInvalidAmount means a transfer amount is zero or negative.
	ErrInvalidAmount = errors.New("redislua: transfer amount must be positive")
	// ErrSameKey means a transfer names one key as both sides.
	ErrSameKey = errors.New("redislua: transfer from a balance to itself")
	// ErrEmptyTransferID means TransferOnce was given no ID.
	ErrEmptyTransferID = errors.New("redislua: empty transfer ID")
	// ErrTransferIDReused means a transfer ID's record belongs to a
	// transfer with other keys or another amount; nothing moved.
	ErrTransferIDReused = errors.New("redislua: transfer ID already used for another transfer")
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

// Error reads like "redislua: insufficient funds: key "{bank}:alice"".
func (e *BalanceError) Error() string { return e.Err.Error() + ": key " + quoteKey(e.Key) }

// Unwrap returns Err.
func (e *BalanceError) Unwrap() error { return e.Err }

// TransferResult is the outcome of a transfer.
type TransferResult struct {
	// From and To are the two balances right after the call. They are
	// also set, unchanged, with ErrInsufficientFunds and ErrOverflow.
	From, To int64
	// Applied is true when this call moved the amount, and false when
	// TransferOnce found it moved by an earlier call with the same ID.
	Applied bool
}

// TransferOptions tunes TransferOnce. A nil *TransferOptions means the
// zero value.
type TransferOptions struct {
	// RecordTTL is how long the transfer ID is remembered, at least 1ms
	// (ErrInvalidTTL otherwise); zero means DefaultTransferRecordTTL. A
	// retry after the record expired moves the amount again.
	RecordTTL time.Duration

	// WaitReplicas, when not zero, makes TransferOnce wait (in the same
	// round trip) until that many replicas have the transfer and its
	// record. If fewer acknowledge it in time, TransferOnce returns the
	// result with a *ReplicaError (ErrTooFewReplicas): the transfer is
	// applied on the master, and may still be lost if the master fails
	// before a replica gets it. Calling again with the same ID is safe
	// either way: it moves nothing if the transfer survived (and waits for
	// the replicas again), and moves the amount if it was lost with its
	// record. See RunAndWait for the clients it works on; an ACL user needs
	// +wait, or the transfer is applied and the call fails with an error
	// matching ErrNoPerm.
	WaitReplicas Replicas
}

// Transfer moves amount from the integer balance at key from to the one at
// key to, in one atomic step. A missing balance counts as 0. It refuses,
// moving nothing, when from holds less than amount (ErrInsufficientFunds),
// when to would exceed the int64 maximum (ErrOverflow), and when either
// key holds anything but a decimal integer (ErrNotInteger); these arrive
// as a *BalanceError naming the key. A key of another type (a list) fails
// the call with a *ScriptError matching ErrWrongType, also before anything
// moved. Every int64 is handled exactly.
//
// The keys must share a hash slot (give them a hash tag, "{bank}:alice"
// and "{bank}:bob"), on every client: otherwise the call fails with a
// *CrossSlotError. amount must be positive (ErrInvalidAmount), the keys
// non-empty (ErrEmptyKey), different (ErrSameKey) and not of the library's
// own form (ErrReservedKey, see docs/keys.md), and c not a pipeline
// (ErrPipeline); in all these cases nothing is sent.
//
// Transfer is not idempotent: if the reply is lost (a timeout, a dropped
// connection) the amount may or may not have moved, and calling again may
// move it twice. Use TransferOnce where a call may be retried. Replication
// is asynchronous: a failover can lose an acknowledged transfer, both sides
// of it (see TransferOnce).
func Transfer(ctx context.Context, c redis.Scripter, from, to string, amount int64) (TransferResult, error) {
	if err := checkTransfer(c, "Transfer", from, to, amount); err != nil {
		return TransferResult{}, err
	}
	return runTransfer(ctx, c, []string{from, to}, amount, "", Replicas{})
}

// TransferOnce is Transfer with a caller-chosen ID (an order number, a
// request ID) that makes it safe to retry: the first call moves the
// amount and records the ID, in the same atomic step; later calls with the
// same ID, keys and amount move nothing and return the current balances
// with Applied false. A call with the same ID but another to key or amount
// fails with ErrTransferIDReused, moving nothing. A refused call
// (insufficient funds, overflow, a non-integer balance) records nothing,
// so the same ID may be tried again once the balance allows it.
//
// An ID belongs to its from key: its record is TransferRecordKey(from, id)
// ("{bank}:alice{}redislua:transfer:order-17"), in from's hash slot. It
// expires after opts.RecordTTL (DefaultTransferRecordTTL, 24h, by
// default); a retry after that moves the amount again, so choose a TTL
// longer than any retry may come late. An empty ID is ErrEmptyTransferID,
// with nothing sent.
//
// The move and the record are one script's writes: a failover keeps both
// or loses both (replication is asynchronous), so a retry with the same ID
// after a failover either finds the record or moves the amount once.
// opts.WaitReplicas narrows the window in which an acknowledged transfer
// can be lost that way.
func TransferOnce(ctx context.Context, c redis.Scripter, from, to string, amount int64, id string, opts *TransferOptions) (TransferResult, error) {
	if err := checkTransfer(c, "TransferOnce", from, to, amount); err != nil {
		return TransferResult{}, err
	}
	if id == "" {
		return TransferResult{}, ErrEmptyTransferID
	}
	var o TransferOptions
	if opts != nil {
		o = *opts
	}
	if o.RecordTTL == 0 {
		o.RecordTTL = DefaultTransferRecordTTL
	}
	ttlArg, err := ttlMillis(o.RecordTTL)
	if err != nil {
		return TransferResult{}, err
	}
	record := keyspace.DeriveWith(from, kindTransferID, id)
	return runTransfer(ctx, c, []string{from, to, record}, amount, ttlArg, o.WaitReplicas)
}

// TransferRecordKey returns the key in which TransferOnce records transfer
// ID id of balance from (see docs/keys.md).
func TransferRecordKey(from, id string) string {
	return keyspace.DeriveWith(from, kindTransferID, id)
}

// checkTransfer catches misuse before anything is sent.
func checkTransfer(c redis.Scripter, call, from, to string, amount int64) error {
	if err := checkDirectClient(c, call); err != nil {
		return err
	}
	if err := checkUserKey(from, call+" from"); err != nil {
		return err
	}
	if err := checkUserKey(to, call+" to"); err != nil {
		return err
	}
	switch {
	case from == to:
		return fmt.Errorf("%w: key %s", ErrSameKey, quoteKey(from))
	case amount <= 0:
		return ErrInvalidAmount
	}
	return nil
}

// runTransfer runs the transfer script on keys (from, to and maybe the ID
// record) and reads its reply, waiting for replicas as wait asks. The
// script gets the amount and the credited balance's headroom (int64
// maximum minus the amount) as decimal strings, so that it needs no
// arithmetic of its own.
func runTransfer(ctx context.Context, c redis.Scripter, keys []string, amount int64, recordTTL string, wait Replicas) (TransferResult, error) {
	args := make([]any, 2, 4)
	args[0], args[1] = strconv.FormatInt(amount, 10), strconv.FormatInt(math.MaxInt64-amount, 10)
	if recordTTL != "" {
		args = append(args, recordTTL)
		if wait != (Replicas{}) {
			args = append(args, "touch")
		}
	}
	cmd, waitErr := transferScript.RunAndWait(ctx, c, wait, keys, args...)
	reply, err := cmd.Slice()
	if err != nil {
		return TransferResult{}, err
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
		return TransferResult{}, &BalanceError{Key: from, Err: ErrNotInteger}
	case "notint-to":
		return TransferResult{}, &BalanceError{Key: to, Err: ErrNotInteger}
	case "reused":
		return TransferResult{}, fmt.Errorf("%w: record %s", ErrTransferIDReused, quoteKey(keys[2]))
	default:
		return TransferResult{}, fmt.Errorf("redislua: transfer: unexpected reply status %q", status)
	}
	res, err := transferBalances(reply, from, to)
	if err != nil {
		return TransferResult{}, err
	}
	res.Applied = status == "applied"
	if refused != nil {
		return res, refused
	}
	return res, waitErr
}

// transferBalances reads the balances of a transfer reply, exactly.
func transferBalances(reply []any, from, to string) (TransferResult, error) {
	var res TransferResult
	var ok bool
	if res.From, ok = transferReplyInt64(reply, 1); !ok {
		return TransferResult{}, &BalanceError{Key: from, Err: ErrNotInteger}
	}
	if res.To, ok = transferReplyInt64(reply, 2); !ok {
		return TransferResult{}, &BalanceError{Key: to, Err: ErrNotInteger}
	}
	return res, nil
}

// transferReplyInt64 parses reply[i], a decimal string.
func transferReplyInt64(reply []any, i int) (int64, bool) {
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
