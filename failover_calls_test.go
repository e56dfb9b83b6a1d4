package redislua

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/keyspace"
)

// The failover tests of this file's neighbour failover_test.go drive the
// transfer and fenced-write scripts, which packages transfer and cas wrap;
// those packages import this one, so this package's tests cannot call
// them. These test-only calls run the same scripts with the same keys and
// arguments, and read just what the failover tests check.

// transferScript is the prebuilt transfer script (package transfer's).
var transferScript = prebuilt.MustScript("transfer/transfer")

// failoverTransferResult is the part of a transfer's reply the failover
// tests read.
type failoverTransferResult struct {
	From, To int64
	Applied  bool
}

// Transfer runs the transfer script as transfer.Move does.
func Transfer(ctx context.Context, c redis.Scripter, from, to string, amount int64) (failoverTransferResult, error) {
	return failoverTransfer(ctx, c, []string{from, to}, amount)
}

// TransferOnce runs the transfer script as transfer.MoveOnce does with
// default options (a record kept 24h). opts must be nil.
func TransferOnce(ctx context.Context, c redis.Scripter, from, to string, amount int64, id string, opts *struct{}) (failoverTransferResult, error) {
	record := keyspace.DeriveWith(from, kindTransferID, id)
	return failoverTransfer(ctx, c, []string{from, to, record}, amount, "86400000")
}

func failoverTransfer(ctx context.Context, c redis.Scripter, keys []string, amount int64, extra ...any) (failoverTransferResult, error) {
	args := append([]any{strconv.FormatInt(amount, 10), strconv.FormatInt(math.MaxInt64-amount, 10)}, extra...)
	reply, err := transferScript.Run(ctx, c, keys, args...).Slice()
	if err != nil {
		return failoverTransferResult{}, err
	}
	var status, from, to string
	if len(reply) == 3 {
		status, _ = reply[0].(string)
		from, _ = reply[1].(string)
		to, _ = reply[2].(string)
	}
	if status != "applied" && status != "already" {
		return failoverTransferResult{}, fmt.Errorf("transfer refused: %q", reply)
	}
	res := failoverTransferResult{Applied: status == "applied"}
	res.From, _ = strconv.ParseInt(from, 10, 64)
	res.To, _ = strconv.ParseInt(to, 10, 64)
	return res, nil
}

// FencedSet runs the fenced-write script as cas.FencedSet does.
func FencedSet(ctx context.Context, c redis.Scripter, key, value string, fence int64) (bool, error) {
	keys := []string{key, keyspace.Derive(key, kindFenced)}
	n, err := prebuilt.MustScript("cas/fenced_set").Run(ctx, c, keys, value, strconv.FormatInt(fence, 10)).Int64()
	if err == nil && n < 0 {
		err = fmt.Errorf("fence record %s is not an integer", keys[1])
	}
	return n == 1, err
}
