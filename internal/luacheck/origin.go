package luacheck

import "github.com/yuin/gopher-lua/ast"

// origin returns where the value of e comes from, as far as a local reading
// of the script shows.
func (c *checker) origin(e ast.Expr) origin {
	c.enter()
	defer c.leave()
	switch e := e.(type) {
	case *ast.StringExpr, *ast.NumberExpr:
		return fromLiteral
	case *ast.StringConcatOpExpr:
		return fromBuilt
	case *ast.IdentExpr:
		if v := c.scope.lookup(e.Value); v != nil {
			return v.origin
		}
		switch e.Value {
		case "KEYS":
			if c.lib == nil {
				return fromKeysTable
			}
		case "redis":
			return fromRedis
		}
	case *ast.AttrGetExpr:
		switch object := c.origin(e.Object); object {
		case fromKeysTable:
			return fromKeys
		case fromArgvTable:
			return fromArgv
		case fromRedis:
			if k, ok := e.Key.(*ast.StringExpr); ok && (k.Value == "call" || k.Value == "pcall") {
				return fromRedisCall
			}
		}
		if c.isGlobal(e.Object, "ARGV") {
			return fromArgv
		}
	case *ast.FuncCallExpr:
		return c.callOrigin(e)
	case *ast.LogicalOpExpr:
		// A chain a or b or c ... is walked along its left spine in a
		// loop: Redis accepts one of any length.
		spine := []*ast.LogicalOpExpr{e}
		for l, ok := e.Lhs.(*ast.LogicalOpExpr); ok; l, ok = l.Lhs.(*ast.LogicalOpExpr) {
			spine = append(spine, l)
		}
		o := c.origin(spine[len(spine)-1].Lhs)
		for i := len(spine) - 1; i >= 0; i-- {
			o = logicalOrigin(spine[i].Operator, o, c.origin(spine[i].Rhs))
		}
		return o
	case *ast.TableExpr:
		if len(e.Fields) == 0 {
			return fromUnknown
		}
		for _, f := range e.Fields {
			if o := c.origin(f.Value); o != fromKeys {
				return fromUnknown
			}
		}
		return fromKeysTable
	}
	return fromUnknown
}

// logicalOrigin returns the origin of "l op r" for the origins of l and r.
func logicalOrigin(op string, l, r origin) origin {
	switch {
	case op == "and":
		return r // a and b is b unless a is false or nil
	case l == r:
		return l
	case l == fromKeys || r == fromKeys:
		return fromKeys
	}
	return fromUnknown
}

// callOrigin returns the origin of the (first) result of a call.
func (c *checker) callOrigin(e *ast.FuncCallExpr) origin {
	if e.Func == nil {
		if e.Method == "format" || e.Method == "rep" {
			return fromBuilt // ("%s:%s"):format(a, b)
		}
		return fromUnknown
	}
	switch c.globalFuncName(e.Func) {
	case "string.format", "string.rep", "table.concat":
		return fromBuilt
	case "unpack":
		if len(e.Args) > 0 && c.origin(e.Args[0]) == fromKeysTable {
			return fromKeys
		}
	case "tostring":
		if len(e.Args) == 1 {
			switch o := c.origin(e.Args[0]); o {
			case fromKeys, fromParam, fromArgv, fromLiteral, fromBuilt:
				return o
			}
		}
	}
	return fromUnknown
}

// globalFuncName returns "name" or "lib.name" when e is a global function
// or a field of a global library table, and "" otherwise.
func (c *checker) globalFuncName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.IdentExpr:
		if c.scope.lookup(x.Value) == nil {
			return x.Value
		}
	case *ast.AttrGetExpr:
		lib, ok := x.Object.(*ast.IdentExpr)
		key, ok2 := x.Key.(*ast.StringExpr)
		if ok && ok2 && c.scope.lookup(lib.Value) == nil {
			return lib.Value + "." + key.Value
		}
	}
	return ""
}

// origins returns the origins of the first n values of an expression list,
// as a multiple assignment spreads them.
func (c *checker) origins(exprs []ast.Expr, n int) []origin {
	out := make([]origin, n)
	for i := range out {
		switch {
		case i < len(exprs):
			out[i] = c.origin(exprs[i])
		case len(exprs) > 0 && c.isMulti(exprs[len(exprs)-1]):
			// local a, b = unpack(KEYS): every extra value comes from the call.
			if c.origin(exprs[len(exprs)-1]) == fromKeys {
				out[i] = fromKeys
			}
		}
	}
	return out
}

// loopOrigins returns the origins of the variables of a generic for. The
// values of "for i, k in ipairs(KEYS)" (or pairs) are keys.
func (c *checker) loopOrigins(s *ast.GenericForStmt) []origin {
	out := make([]origin, len(s.Names))
	if len(s.Exprs) != 1 || len(out) < 2 {
		return out
	}
	call, ok := s.Exprs[0].(*ast.FuncCallExpr)
	if !ok || call.Func == nil || len(call.Args) != 1 {
		return out
	}
	if name := c.globalFuncName(call.Func); (name == "ipairs" || name == "pairs") && c.origin(call.Args[0]) == fromKeysTable {
		out[1] = fromKeys
	}
	return out
}

// isMulti reports whether e can expand to several values: "..." or a call,
// not wrapped in parentheses, of a function that may return several.
func (c *checker) isMulti(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.FuncCallExpr:
		return !x.AdjustRet && !c.singleValue(x)
	case *ast.Comma3Expr:
		return !x.AdjustRet
	}
	return false
}

// singleValued are the global functions that return exactly one value.
var singleValued = set(
	"tostring", "tonumber", "type",
	"string.format", "string.rep", "string.sub", "string.upper", "string.lower",
	"string.len", "string.reverse", "string.char", "table.concat",
	"math.floor", "math.ceil", "math.abs", "math.max", "math.min",
	"cjson.encode", "cjson.decode", "redis.sha1hex",
)

// singleMethods are the string methods that return exactly one value.
var singleMethods = set("format", "rep", "sub", "upper", "lower", "len", "reverse")

// singleValue reports whether a call returns exactly one value.
func (c *checker) singleValue(e *ast.FuncCallExpr) bool {
	if e.Func == nil {
		return singleMethods[e.Method]
	}
	return singleValued[c.globalFuncName(e.Func)] || c.origin(e.Func) == fromRedisCall
}
