package redislua_test

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/redislua/redislua"
)

// Transfer moves an amount between two integer balances in one step,
// refusing to overdraw. The keys share a hash tag, so they share a cluster
// slot.
func ExampleTransfer() {
	ctx := context.Background()
	rdb, done := newClient()
	defer done()

	rdb.Set(ctx, "{bank}:alice", 100, 0)
	res, err := redislua.Transfer(ctx, rdb, "{bank}:alice", "{bank}:bob", 30)
	fmt.Printf("%+v %v\n", res, err)

	_, err = redislua.Transfer(ctx, rdb, "{bank}:alice", "{bank}:bob", 500)
	fmt.Println(errors.Is(err, redislua.ErrInsufficientFunds), err)

	// Exact over the whole int64 range, where Lua numbers (doubles) are not.
	rdb.Set(ctx, "{bank}:carol", math.MaxInt64, 0)
	res, _ = redislua.Transfer(ctx, rdb, "{bank}:carol", "{bank}:bob", 1)
	fmt.Println(res.From)
	// Output:
	// {From:70 To:30 Applied:true} <nil>
	// true redislua: insufficient funds: key "{bank}:alice"
	// 9223372036854775806
}

// TransferOnce can be retried after a timeout: the ID makes sure the amount
// moves once.
func ExampleTransferOnce() {
	ctx := context.Background()
	rdb, done := newClient()
	defer done()

	rdb.Set(ctx, "{bank}:alice", 100, 0)
	for range 3 {
		res, err := redislua.TransferOnce(ctx, rdb, "{bank}:alice", "{bank}:bob", 30, "order-17", nil)
		fmt.Printf("%+v %v\n", res, err)
	}
	_, err := redislua.TransferOnce(ctx, rdb, "{bank}:alice", "{bank}:bob", 99, "order-17", nil)
	fmt.Println(errors.Is(err, redislua.ErrTransferIDReused))
	// Output:
	// {From:70 To:30 Applied:true} <nil>
	// {From:70 To:30 Applied:false} <nil>
	// {From:70 To:30 Applied:false} <nil>
	// true
}
