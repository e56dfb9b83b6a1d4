// Package transfer moves amounts between integer balances kept in Redis
// string keys, atomically and exactly for every int64, with an optional
// transfer ID that makes a call safe to retry.
//
//	res, err := transfer.Move(ctx, rdb, "{bank}:alice", "{bank}:bob", 30)
//	res, err = transfer.MoveOnce(ctx, rdb, "{bank}:alice", "{bank}:bob", 30, "order-17", nil)
//
// Both run one Lua script (lua/transfer/transfer.lua in package lua)
// through the redislua engine, so NOSCRIPT is handled, errors name the
// script's file and line, and cross-slot keys are refused before anything
// is sent, on every client.
//
// # Guarantees
//
//   - Atomic: the debit, the credit and (for MoveOnce) the ID's record are
//     one script's writes. Every check comes before the first write, so a
//     refused call changes nothing.
//   - Exact: balances are decimal strings checked and changed as int64
//     (DECRBY, INCRBY), never Lua numbers, which are doubles exact only up
//     to 2^53. A missing balance counts as 0.
//   - Never overdrawn, never overflowed: a debit below the amount is
//     ErrInsufficientFunds, a credit past the int64 maximum ErrOverflow;
//     both arrive in a *BalanceError naming the key, with the balances in
//     the Result. A balance that is not a decimal integer is ErrNotInteger
//     (in a *BalanceError); a key of another type (a list) is a
//     *redislua.ScriptError matching redislua.ErrWrongType.
//   - Once per ID: MoveOnce records the ID with the move. A retry with the
//     same ID, keys and amount moves nothing and returns the current
//     balances with Applied false; the same ID with another to key or
//     amount is ErrIDReused. The record expires after Options.RecordTTL
//     (DefaultRecordTTL, 24h); a retry after that moves the amount again.
//   - Failover: replication is asynchronous, so a failover can lose an
//     acknowledged transfer. The move and its record are kept or lost
//     together, never one without the other: after a failover a retry with
//     the same ID either finds the record or moves the amount once.
//     Options.WaitReplicas narrows the window.
//
// Move is not idempotent: after a lost reply the amount may or may not
// have moved. Use MoveOnce wherever a call may be retried.
//
// # Options
//
// MoveOnce takes a *Options, nil meaning the defaults: option structs are
// the module's one options style, as in go-redis, so that a zero value is
// always valid and every option is checked before anything is sent.
//
// See docs/transfer.md for a longer walk through, and docs/keys.md for how
// ID records are named.
package transfer
