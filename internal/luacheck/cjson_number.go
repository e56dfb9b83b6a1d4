package luacheck

import (
	"fmt"
	"strings"

	"github.com/yuin/gopher-lua/ast"
)

// Redis's cjson writes numbers with 14 significant digits ("%.14g"), and so
// does tostring: an integer above 1e14 read from Redis (a counter, a
// microsecond time) comes out rounded, 9007199254740993 as
// 9.007199254741e+15. The check follows numbers from Redis through locals,
// arithmetic and table fields to cjson.encode; string.format("%d", n) and
// the reply string itself encode exactly.

// counterCommands reply with an integer that can grow without bound.
var counterCommands = set("incr", "incrby", "decr", "decrby", "hincrby")

// redisNumber is what the checker knows of a value's numbers from Redis.
type redisNumber struct {
	reply   bool   // a reply of redis.call or redis.pcall
	element bool   // an element of a reply: a string, such as TIME's seconds
	number  string // a number from Redis: what it is, for the message
	table   string // a table with such a number in a field: which field
}

// numberOf returns what e holds of numbers from Redis.
func (c *checker) numberOf(e ast.Expr) redisNumber {
	c.enter()
	defer c.leave()
	switch x := e.(type) {
	case *ast.IdentExpr:
		if v := c.scope.lookup(x.Value); v != nil {
			return v.number
		}
	case *ast.AttrGetExpr:
		if o := c.numberOf(x.Object); o.reply || o.element {
			return redisNumber{element: true}
		}
	case *ast.FuncCallExpr:
		return c.callNumber(x)
	case *ast.ArithmeticOpExpr:
		// A left-associative chain is walked along its spine in a loop.
		for {
			if c.largeTerm(x) {
				return redisNumber{number: "a sum or product of numbers from Redis"}
			}
			lhs, ok := x.Lhs.(*ast.ArithmeticOpExpr)
			if !ok {
				return redisNumber{}
			}
			x = lhs
		}
	case *ast.LogicalOpExpr:
		// tonumber(redis.call("GET", k)) or 0
		for {
			if n := c.numberOf(x.Rhs); n.number != "" {
				return n
			}
			lhs, ok := x.Lhs.(*ast.LogicalOpExpr)
			if !ok {
				if n := c.numberOf(x.Lhs); n.number != "" && x.Operator == "or" {
					return n
				}
				return redisNumber{}
			}
			x = lhs
		}
	case *ast.TableExpr:
		if field := c.numberField(x); field != "" {
			return redisNumber{table: field}
		}
	}
	return redisNumber{}
}

// largeTerm reports whether one step of a chain of +, - and * is a number
// from Redis: an operand that is one, or an element of a reply (TIME's
// seconds) times a literal of at least 1e5, as in microseconds.
func (c *checker) largeTerm(x *ast.ArithmeticOpExpr) bool {
	if x.Operator != "+" && x.Operator != "-" && x.Operator != "*" {
		return false
	}
	// A nested left operand is the next step of the chain, not this one's.
	var l redisNumber
	if _, nested := x.Lhs.(*ast.ArithmeticOpExpr); !nested {
		l = c.numberOf(x.Lhs)
	}
	r := c.numberOf(x.Rhs)
	if l.number != "" || r.number != "" {
		return true
	}
	if x.Operator != "*" {
		return false
	}
	k, ok := constNumber(x.Rhs)
	if !ok {
		k, ok = constNumber(x.Lhs)
	}
	return ok && k >= 1e5 && (l.element || r.element)
}

// callNumber returns what a call's result holds of numbers from Redis.
func (c *checker) callNumber(e *ast.FuncCallExpr) redisNumber {
	if e.Func == nil {
		return redisNumber{}
	}
	if c.origin(e.Func) == fromRedisCall {
		if len(e.Args) > 0 {
			if name, ok := e.Args[0].(*ast.StringExpr); ok && counterCommands[strings.ToLower(name.Value)] {
				return redisNumber{number: "the reply of " + strings.ToUpper(name.Value)}
			}
		}
		return redisNumber{reply: true}
	}
	switch c.globalFuncName(e.Func) {
	case "tonumber":
		// tonumber(redis.call("GET", k)) reads a counter; an element of
		// a reply (a field of HGETALL, TIME's seconds) stays an element.
		if len(e.Args) > 0 {
			switch n := c.numberOf(e.Args[0]); {
			case n.reply || n.number != "":
				return redisNumber{number: "a number read from a reply"}
			case n.element:
				return n
			}
		}
	case "math.floor", "math.ceil", "math.abs", "math.max", "math.min":
		for _, a := range e.Args {
			if n := c.numberOf(a); n.number != "" {
				return n
			}
		}
	}
	return redisNumber{}
}

// numberField names the first field of a table constructor, nested ones
// included, that holds a number from Redis; "" if none does.
func (c *checker) numberField(t *ast.TableExpr) string {
	for i, f := range t.Fields {
		n := c.numberOf(f.Value)
		if n.number == "" && n.table == "" {
			continue
		}
		name := fmt.Sprintf("[%d]", i+1)
		if k, ok := f.Key.(*ast.StringExpr); ok {
			name = k.Value
		} else if f.Key != nil {
			name = "[...]"
		}
		if n.table != "" {
			return fieldPath(name, n.table)
		}
		return name
	}
	return ""
}

// fieldPath joins a table's name and a field path: "t.a", "t[...]".
func fieldPath(table, field string) string {
	if strings.HasPrefix(field, "[") {
		return table + field
	}
	return table + "." + field
}

// noteNumbers records what the values assigned to targets hold of numbers
// from Redis: a local takes it whole; a field of a local table, or an
// element added with table.insert, marks the table.
func (c *checker) noteNumbers(target ast.Expr, n redisNumber) {
	switch t := target.(type) {
	case *ast.IdentExpr:
		if v := c.scope.lookup(t.Value); v != nil {
			v.number = n
		}
	case *ast.AttrGetExpr:
		id, ok := t.Object.(*ast.IdentExpr)
		if !ok || n.number == "" && n.table == "" {
			return
		}
		v := c.scope.lookup(id.Value)
		if v == nil || v.number.table != "" {
			return
		}
		name := "[...]"
		if k, ok := t.Key.(*ast.StringExpr); ok {
			name = k.Value
		}
		if n.table != "" {
			name = fieldPath(name, n.table)
		}
		v.number = redisNumber{table: fmt.Sprintf("%s (line %d)", name, t.Line())}
	}
}

// numbersOf returns what the first n values of an expression list hold of
// numbers from Redis.
func (c *checker) numbersOf(exprs []ast.Expr, n int) []redisNumber {
	out := make([]redisNumber, n)
	for i := range min(n, len(exprs)) {
		out[i] = c.numberOf(exprs[i])
	}
	return out
}

// checkNumberCall follows table.insert of a number from Redis into a local
// table, and reports one passed to cjson.encode.
func (c *checker) checkNumberCall(e *ast.FuncCallExpr) {
	switch c.globalFuncName(e.Func) {
	case "table.insert":
		if len(e.Args) >= 2 {
			if id, ok := e.Args[0].(*ast.IdentExpr); ok {
				if v := c.scope.lookup(id.Value); v != nil && v.number.table == "" {
					if n := c.numberOf(e.Args[len(e.Args)-1]); n.number != "" || n.table != "" {
						v.number = redisNumber{table: fmt.Sprintf("[...] (inserted at line %d)", e.Line())}
					}
				}
			}
		}
	case "cjson.encode":
		if len(e.Args) == 0 {
			return
		}
		arg := e.Args[0]
		if t, ok := arg.(*ast.TableExpr); ok {
			c.reportNumberFields(t)
			return
		}
		n := c.numberOf(arg)
		switch {
		case n.number != "":
			c.report(arg.Line(), c.colOf(arg), IDCJSONNumber, numberMessage("the value is "+n.number))
		case n.table != "":
			subject := "the table"
			if id, ok := arg.(*ast.IdentExpr); ok {
				subject = id.Value
			}
			c.report(arg.Line(), c.colOf(arg), IDCJSONNumber, numberMessage(fieldPath(subject, n.table)+" holds a number from Redis"))
		}
	}
}

// reportNumberFields reports each field of a table passed to cjson.encode,
// nested tables included, that holds a number from Redis.
func (c *checker) reportNumberFields(t *ast.TableExpr) {
	c.enter()
	defer c.leave()
	for _, f := range t.Fields {
		if nested, ok := f.Value.(*ast.TableExpr); ok {
			c.reportNumberFields(nested)
			continue
		}
		n := c.numberOf(f.Value)
		subject := "the value"
		if k, ok := f.Key.(*ast.StringExpr); ok {
			subject = "field " + k.Value
		}
		switch {
		case n.number != "":
			c.report(f.Value.Line(), c.colOf(f.Value), IDCJSONNumber, numberMessage(subject+" is "+n.number))
		case n.table != "":
			c.report(f.Value.Line(), c.colOf(f.Value), IDCJSONNumber, numberMessage(subject+" holds a number from Redis in "+n.table))
		}
	}
}

func numberMessage(what string) string {
	return what + `; cjson.encode keeps 14 significant digits (integers above 1e14 come out rounded): encode string.format("%d", n) or the reply string, and decode with a json:",string" tag`
}
