package luacheck_test

import (
	"errors"
	"fmt"

	"github.com/redislua/redislua/internal/luacheck"
)

func ExampleCheck() {
	src := `local count = redis.call("INCR", KEYS[1])
if count > ARGV[1] then
  blocked = true
  redis.call("SET", KEYS[1] .. ":blocked", 1) -- redislua:ignore key-not-from-KEYS
end
return redis.call("GET", KEYS[2])
`
	findings, err := luacheck.Check(src, luacheck.Config{DeclaredKeys: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range findings {
		fmt.Println(f)
	}
	// Output:
	// 2:12: warning: ARGV[1] is a string; convert it with tonumber() before comparing (strings compare as text, and fail against numbers) [argv-arith]
	// 3:3: error: global variable "blocked" assigned; declare it with "local blocked" [global-write]
	// 6:26: warning: KEYS[2] is beyond the 1 keys the script declares; declare more keys or fix the index [keys-index]
}

func ExampleCheck_syntaxError() {
	_, err := luacheck.Check("local x = = 1", luacheck.Config{})
	var se *luacheck.SyntaxError
	if errors.As(err, &se) {
		fmt.Println(se.Line, se.Col, se.Message)
	}
	// Output:
	// 1 11 syntax error near '='
}
