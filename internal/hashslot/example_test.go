package hashslot_test

import (
	"fmt"

	"github.com/redislua/redislua/internal/hashslot"
)

func ExampleOf() {
	fmt.Println(hashslot.Of("foo"))
	// Keys sharing a hash tag share a slot.
	fmt.Println(hashslot.Of("{user1000}.following") == hashslot.Of("{user1000}.followers"))
	// Output:
	// 12182
	// true
}

func ExampleCRC16() {
	fmt.Printf("%#04x\n", hashslot.CRC16("123456789"))
	// Output: 0x31c3
}
