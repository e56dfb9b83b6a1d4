package redislua_test

import (
	"context"
	"errors"
	"fmt"

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

// RegistryOptions.ClusterChecks makes a registry refuse cross-slot keys on any client,
// so the bug shows up against miniredis or standalone Redis, before the
// first cluster deploy.
func ExampleRegistryOptions_clusterChecks() {
	ctx := context.Background()
	rdb, done := newClient()
	defer done()

	reg, err := redislua.NewRegistry(luaFS, &redislua.RegistryOptions{ClusterChecks: true})
	if err != nil {
		panic(err)
	}
	err = reg.Run(ctx, rdb, "transfer", []string{"alice:checking", "bob:checking"}, 10).Err()
	var cse *redislua.CrossSlotError
	fmt.Println(errors.As(err, &cse), cse.Keys, cse.Slots)
	// Output:
	// true [alice:checking bob:checking] [9205 9903]
}
