package lua_test

import (
	"fmt"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/lua"
)

// The prebuilt scripts read like any others: here, listed with what each
// declares. reg.LoadAll(ctx, rdb) would preload them all.
func ExampleFS() {
	reg, err := redislua.NewRegistry(lua.FS, nil)
	if err != nil {
		panic(err)
	}
	for _, s := range reg.Scripts() {
		if s.Name() == "lock/acquire" || s.Name() == "transfer/transfer" {
			var keys []string
			for _, k := range s.Keys() {
				keys = append(keys, k.Name)
			}
			fmt.Println(s.Name(), keys)
		}
	}
	// Output:
	// lock/acquire [lock fence]
	// transfer/transfer [from to record]
}
