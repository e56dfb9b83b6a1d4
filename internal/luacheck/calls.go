package luacheck

import (
	"fmt"
	"strings"

	"github.com/yuin/gopher-lua/ast"

	"github.com/redislua/redislua/internal/editdist"
)

// call checks a function call: redis.call and redis.pcall (directly, through
// a local alias such as "local rcall = redis.call", or as pcall(redis.call,
// ...)), and calls of library functions that do not exist.
func (c *checker) call(e *ast.FuncCallExpr) {
	if e.Func == nil {
		return // method call
	}
	c.checkErrorReply(e)
	c.checkErrorCall(e)
	c.checkRegisterCall(e)
	c.checkNumberCall(e)
	if c.origin(e.Func) == fromRedisCall {
		c.redisCall(e.Args)
		return
	}
	if c.isGlobal(e.Func, "pcall") && len(e.Args) > 0 && c.origin(e.Args[0]) == fromRedisCall {
		c.redisCall(e.Args[1:])
		return
	}
	c.checkMember(e.Func)
	c.checkRawWrite(e)
}

// checkRawWrite reports rawset and setmetatable on a Redis-provided table:
// Redis 7 makes them read-only underneath too ("Attempt to modify a
// readonly table").
func (c *checker) checkRawWrite(e *ast.FuncCallExpr) {
	name := c.globalFuncName(e.Func)
	if (name != "rawset" && name != "setmetatable") || len(e.Args) == 0 {
		return
	}
	if root := c.readonlyRoot(e.Args[0]); root != "" {
		c.report(e.Line(), c.colOf(e.Func), IDGlobalWrite, fmt.Sprintf(
			"%s on the read-only table %q fails in Redis 7 (\"Attempt to modify a readonly table\"); use a local table", name, root))
	}
}

// redisCall checks the arguments of a Redis command call. Only calls whose
// command name is a string literal are checked.
func (c *checker) redisCall(args []ast.Expr) {
	if len(args) == 0 {
		return
	}
	nameArg, ok := args[0].(*ast.StringExpr)
	if !ok {
		return
	}
	line, col := nameArg.Line(), c.cols[nameArg]
	name := strings.ToLower(nameArg.Value)

	// tail is the index of an argument that may expand to any number of
	// values (a call or ...); positions from it on are unknown.
	tail := len(args)
	if c.isMulti(args[len(args)-1]) {
		tail = len(args) - 1
	}

	cmd, ok := commands[name]
	if !ok {
		cmd, ok = laterCommands[name]
	}
	if !ok {
		if !strings.Contains(name, ".") { // JSON.SET and other module commands
			c.report(line, col, IDUnknownCommand, c.unknownCommand(nameArg.Value))
		}
		return
	}

	display, words := strings.ToUpper(name), 1
	if cmd.flags&cmdContainer != 0 && tail > 1 {
		if sub, ok := args[1].(*ast.StringExpr); ok {
			if sc, ok := commands[name+"|"+strings.ToLower(sub.Value)]; ok {
				cmd, display, words = sc, display+" "+strings.ToUpper(sub.Value), 2
			}
		}
	}

	if cmd.flags&cmdNoScript != 0 {
		c.report(line, col, IDCommandNotAllowed, fmt.Sprintf(
			"command %s is not allowed in scripts; call it from the client", display))
		return
	}
	c.checkArity(line, col, cmd, display, words, len(args), tail < len(args))
	if cmd.flags&cmdWrite != 0 && c.cfg.NoWrites {
		c.report(line, col, IDWriteInReadonly, fmt.Sprintf(
			"write command %s in a script flagged no-writes; remove the flag or move the write to another script", display))
	}
	if msg, ok := blockingCommands[name]; ok {
		c.report(line, col, IDBlockingCommand, msg)
	}
	if name == "xread" || name == "xreadgroup" {
		c.checkBlockOption(display, args, tail)
	}
	if name != "migrate" { // MIGRATE's key may be "" when it uses KEYS
		c.checkKeys(cmd, display, args, tail)
	}
}

// checkBlockOption reports XREAD or XREADGROUP with a literal BLOCK
// option, which Redis refuses in a script ("command is not allowed with
// BLOCK option from scripts"). Options end at STREAMS.
func (c *checker) checkBlockOption(display string, args []ast.Expr, tail int) {
	for _, a := range args[1:tail] {
		s, ok := a.(*ast.StringExpr)
		if !ok {
			continue
		}
		switch strings.ToLower(s.Value) {
		case "streams":
			return
		case "block":
			c.report(s.Line(), c.cols[s], IDCommandNotAllowed, fmt.Sprintf(
				"%s with BLOCK is not allowed in scripts; drop BLOCK (a script cannot wait) or read from the client", display))
			return
		}
	}
}

// checkArity reports a call with a number of arguments Redis refuses. n
// counts the command name; variadic says the last argument may expand to
// any number of values, so only too many arguments can be told.
func (c *checker) checkArity(line, col int, cmd command, display string, words, n int, variadic bool) {
	a := cmd.arity
	if a == 0 {
		return
	}
	want, got := abs(a)-words, n-words
	var msg string
	switch {
	case variadic:
		if a > 0 && got-1 > want {
			msg = fmt.Sprintf("it takes %d, got at least %d", want, got-1)
		}
	case a > 0 && n != a:
		msg = fmt.Sprintf("it takes %d, got %d", want, got)
	case a < 0 && n < -a:
		msg = fmt.Sprintf("it takes at least %d, got %d", want, got)
	}
	if msg != "" {
		c.report(line, col, IDWrongArity, fmt.Sprintf("wrong number of arguments for %s: %s; fix the call", display, msg))
	}
}

// checkKeys checks the arguments at the command's fixed key positions.
func (c *checker) checkKeys(cmd command, display string, args []ast.Expr, tail int) {
	if cmd.first <= 0 || cmd.step <= 0 {
		return
	}
	last := cmd.last
	if last < 0 {
		// Counted from the end: with a tail that expands to nothing the
		// end is at the tail, so positions up to tail+last are keys.
		last += tail
	}
	for i := cmd.first; i <= last && i < tail; i += cmd.step {
		c.checkKey(display, args[i])
	}
}

// checkKey reports a key argument that does not come from KEYS.
func (c *checker) checkKey(display string, e ast.Expr) {
	o := c.origin(e)
	var why string
	switch o {
	case fromLiteral:
		why = "is a literal; pass it in KEYS so Redis Cluster and ACLs see it"
	case fromBuilt:
		why = "is built in the script; pass it in KEYS, or on Redis Cluster give it the {hash tag} of the script's other keys"
	case fromArgv:
		why = "comes from ARGV; pass it in KEYS so Redis Cluster and ACLs see it"
	default:
		return // from KEYS, a parameter, or unknown: trusted
	}
	subject := ""
	switch x := e.(type) {
	case *ast.StringExpr:
		subject = fmt.Sprintf(" %q", x.Value)
	case *ast.IdentExpr:
		subject = " " + x.Value
	case *ast.AttrGetExpr:
		if t := indexText(x); t != "" {
			subject = " " + t
		}
	}
	c.report(e.Line(), c.colOf(e), IDKeyNotFromKEYS, fmt.Sprintf("key%s of %s %s", subject, display, why))
}

// maxSuggestions bounds the unknown command names of a script for which a
// close command is looked for: each look costs an edit distance to every
// command, and a generated script may call thousands of module commands.
const maxSuggestions = 100

// unknownCommand returns the message for an unknown command name, made
// once per name.
func (c *checker) unknownCommand(name string) string {
	if msg, ok := c.unknown[name]; ok {
		return msg
	}
	msg := fmt.Sprintf("unknown Redis command %q; check the spelling against the Redis 7.0 command list", name)
	if len(c.unknown) < maxSuggestions {
		msg = unknownCommandMessage(name)
	}
	if c.unknown == nil {
		c.unknown = make(map[string]string)
	}
	c.unknown[name] = msg
	return msg
}

// unknownCommandMessage names the nearest Redis command, if one is close.
func unknownCommandMessage(name string) string {
	msg := fmt.Sprintf("unknown Redis command %q", name)
	lower := strings.ToLower(name)
	const limit = 3 // suggest names at most 2 edits away
	best, bestDist := "", limit
	for cmd := range commands {
		if strings.Contains(cmd, "|") {
			continue
		}
		d := editDistance(lower, cmd, limit)
		if d < bestDist || d == bestDist && d < limit && cmd < best {
			best, bestDist = cmd, d
		}
	}
	if best != "" {
		return msg + fmt.Sprintf("; did you mean %s?", strings.ToUpper(best))
	}
	return msg + "; check the spelling against the Redis 7.0 command list"
}

// editDistance returns the Levenshtein distance of a and b, or limit when it
// is at least limit; names of very different lengths are not compared.
func editDistance(a, b string, limit int) int {
	if abs(len(a)-len(b)) >= limit {
		return limit
	}
	return min(editdist.Distance(a, b), limit)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
