package transfer_test

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/transfer"
)

// Move moves an amount between two integer balances in one step, refusing
// to overdraw. The keys share a hash tag, so they share a cluster slot.
func ExampleMove() {
	// An embedded Redis, so that the example runs anywhere.
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	rdb.Set(ctx, "{bank}:alice", 100, 0)
	res, err := transfer.Move(ctx, rdb, "{bank}:alice", "{bank}:bob", 30)
	fmt.Printf("%+v %v\n", res, err)

	_, err = transfer.Move(ctx, rdb, "{bank}:alice", "{bank}:bob", 500)
	fmt.Println(errors.Is(err, transfer.ErrInsufficientFunds), err)

	// Exact over the whole int64 range, where Lua numbers (doubles) are not.
	rdb.Set(ctx, "{bank}:carol", math.MaxInt64, 0)
	res, _ = transfer.Move(ctx, rdb, "{bank}:carol", "{bank}:bob", 1)
	fmt.Println(res.From)
	// Output:
	// {From:70 To:30 Applied:true} <nil>
	// true transfer: insufficient funds: key "{bank}:alice"
	// 9223372036854775806
}

// MoveOnce can be retried after a timeout: the ID makes sure the amount
// moves once.
func ExampleMoveOnce() {
	// An embedded Redis, so that the example runs anywhere.
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	rdb.Set(ctx, "{bank}:alice", 100, 0)
	for range 3 {
		res, err := transfer.MoveOnce(ctx, rdb, "{bank}:alice", "{bank}:bob", 30, "order-17", nil)
		fmt.Printf("%+v %v\n", res, err)
	}
	_, err = transfer.MoveOnce(ctx, rdb, "{bank}:alice", "{bank}:bob", 99, "order-17", nil)
	fmt.Println(errors.Is(err, transfer.ErrIDReused))
	// Output:
	// {From:70 To:30 Applied:true} <nil>
	// {From:70 To:30 Applied:false} <nil>
	// {From:70 To:30 Applied:false} <nil>
	// true
}

// The ID's record lives next to the debited balance, in its hash slot, for
// Options.RecordTTL.
func ExampleRecordKey() {
	fmt.Println(transfer.RecordKey("{bank}:alice", "order-17"))
	// Output:
	// {bank}:alice{}redislua:transfer:order-17
}
