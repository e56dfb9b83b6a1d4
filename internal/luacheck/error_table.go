package luacheck

import (
	"fmt"

	"github.com/yuin/gopher-lua/ast"
)

// IDErrorTable reports error() raised with a table whose err field is not
// a string: Redis 7.0 builds the error reply from that field and crashes
// (SIGSEGV, the server dies) when it is missing or not a string, as for
// error({}), error({err = {}}), error(KEYS) or error(redis.status_reply(s)).
// error({err = 'CODE message'}) is the documented way to return an error
// code and is accepted, as is any value whose err field is a literal, a
// concatenation, tostring() or a string function. Values the checker
// cannot see (a local, a parameter, a caught error) are trusted.
// Severity: Error.
const IDErrorTable = "error-table"

func init() { severities[IDErrorTable] = Error }

// checkErrorCall checks a call of the global error function.
func (c *checker) checkErrorCall(e *ast.FuncCallExpr) {
	if len(e.Args) == 0 || !c.isGlobal(e.Func, "error") {
		return
	}
	arg := e.Args[0]
	what, sure := c.crashingErrorValue(arg)
	if what == "" {
		return
	}
	line, col := arg.Line(), c.colOf(arg)
	if col == 0 {
		line, col = e.Line(), c.colOf(e.Func)
	}
	msg := fmt.Sprintf("error() with %s crashes Redis 7.0 (SIGSEGV: the server dies); raise error('message') or error({err = 'CODE message'})", what)
	if !sure {
		msg = fmt.Sprintf("error() with %s: Redis 7.0 crashes (SIGSEGV: the server dies) when it is not; make it one, as in {err = tostring(v)}", what)
	}
	c.report(line, col, IDErrorTable, msg)
}

// crashingErrorValue describes e if it is a table whose err field is not
// known to be a string or a number, and says whether it is known not to be
// one. It returns "" for other values.
func (c *checker) crashingErrorValue(e ast.Expr) (what string, sure bool) {
	switch x := e.(type) {
	case *ast.TableExpr:
		switch err := errField(x); err.(type) {
		case nil:
			return "a table without an err field", true
		case *ast.NilExpr, *ast.TrueExpr, *ast.FalseExpr, *ast.TableExpr, *ast.FunctionExpr:
			return "a table whose err field is not a string", true
		default:
			if !c.stringValue(err) {
				return "a table whose err field may not be a string", false
			}
		}
	case *ast.IdentExpr:
		if (x.Value == "KEYS" || x.Value == "ARGV") && c.scope.lookup(x.Value) == nil {
			return "the table " + x.Value, true
		}
	case *ast.FuncCallExpr:
		switch c.globalFuncName(x.Func) {
		case "redis.status_reply":
			return "redis.status_reply(), a table without an err field,", true
		case "setmetatable":
			// The metatable's __index may supply err: only a table
			// constructor without __index is known not to.
			if len(x.Args) == 2 {
				t, ok1 := x.Args[0].(*ast.TableExpr)
				mt, ok2 := x.Args[1].(*ast.TableExpr)
				if ok1 && ok2 && errField(t) == nil && field(mt, "__index") == nil {
					return "a table without an err field", true
				}
			}
		}
	}
	return "", false
}

// errField returns the value of t's err field, the last if several, or nil.
func errField(t *ast.TableExpr) ast.Expr { return field(t, "err") }

// field returns the value given to the string key name in a table
// constructor, the last if several, or nil.
func field(t *ast.TableExpr, name string) ast.Expr {
	var v ast.Expr
	for _, f := range t.Fields {
		if k, ok := f.Key.(*ast.StringExpr); ok && k.Value == name {
			v = f.Value
		}
	}
	return v
}

// stringValue reports whether e is certainly a string or a number, which
// Redis turns into the error text.
func (c *checker) stringValue(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.StringExpr, *ast.NumberExpr, *ast.StringConcatOpExpr,
		*ast.ArithmeticOpExpr, *ast.UnaryMinusOpExpr, *ast.UnaryLenOpExpr:
		return true
	case *ast.AttrGetExpr:
		return c.isGlobal(x.Object, "ARGV")
	case *ast.FuncCallExpr:
		if c.callOrigin(x) == fromBuilt {
			return true
		}
		if x.Func == nil {
			return singleMethods[x.Method]
		}
		switch name := c.globalFuncName(x.Func); name {
		case "tostring", "redis.sha1hex", "cjson.encode", "type":
			return true
		default:
			return singleValued[name] && len(name) > 7 && name[:7] == "string."
		}
	case *ast.IdentExpr:
		if v := c.scope.lookup(x.Value); v != nil {
			return v.origin == fromLiteral || v.origin == fromBuilt || v.origin == fromArgv
		}
	}
	return false
}
