package redislua_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// Keys with a shared hash tag share a slot; others usually do not.
func ExampleCheckSlots() {
	fmt.Println(redislua.CheckSlots("{user1}:from", "{user1}:to"))
	err := redislua.CheckSlots("user1:from", "user1:to")
	fmt.Println(errors.Is(err, redislua.ErrCrossSlot))
	fmt.Println(redislua.Slot("user1"), redislua.Slot("{user1}:from"))
	// Output:
	// <nil>
	// true
	// 8106 8106
}

// RegistryOptions.ClusterChecks makes a registry refuse cross-slot keys on
// any client, so the bug shows up against miniredis or standalone Redis,
// before the first cluster deploy.
func ExampleRegistryOptions_clusterChecks() {
	ctx := context.Background()
	srv, err := miniredis.Run() // an in-memory Redis, not a cluster
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	reg, err := redislua.NewRegistry(nil, &redislua.RegistryOptions{ClusterChecks: true})
	if err != nil {
		panic(err)
	}
	if _, err := reg.Add("transfer", "redis.call('DECRBY', KEYS[1], ARGV[1])\nreturn redis.call('INCRBY', KEYS[2], ARGV[1])"); err != nil {
		panic(err)
	}
	err = reg.Run(ctx, rdb, "transfer", []string{"alice:checking", "bob:checking"}, 10).Err()
	var cse *redislua.CrossSlotError
	fmt.Println(errors.As(err, &cse), cse.Keys, cse.Slots)
	// Output:
	// true [alice:checking bob:checking] [9205 9903]
}
