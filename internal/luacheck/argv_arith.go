package luacheck

import (
	"fmt"

	"github.com/yuin/gopher-lua/ast"
)

// ARGV values are strings. Lua 5.1 converts a numeric string in arithmetic,
// so ARGV[1] + 1 works until a caller passes "" or "1s"; ordering a string
// against a number fails, against another string compares text ("10" <
// "9"); and a string is never equal to a number.

// checkArith checks an operand of arithmetic or unary minus.
func (c *checker) checkArith(operand ast.Expr) {
	if subject := c.argvSubject(operand); subject != "" {
		c.report(operand.Line(), c.colOf(operand), IDArgvArith,
			subject+"; convert it with tonumber() before arithmetic")
	}
}

// checkCompare checks both operands of a comparison.
func (c *checker) checkCompare(e *ast.RelationalOpExpr) {
	for _, p := range [2][2]ast.Expr{{e.Lhs, e.Rhs}, {e.Rhs, e.Lhs}} {
		operand, other := p[0], p[1]
		subject := c.argvSubject(operand)
		if subject == "" {
			continue
		}
		var fix string
		switch e.Operator {
		case "<", "<=", ">", ">=":
			if _, ok := other.(*ast.StringExpr); ok {
				continue // a deliberate text comparison
			}
			fix = "; convert it with tonumber() before comparing (strings compare as text, and fail against numbers)"
		case "==", "~=":
			if _, ok := constNumber(other); !ok {
				continue
			}
			fix = ", never equal to a number; convert it with tonumber()"
		default:
			continue
		}
		c.report(operand.Line(), c.colOf(operand), IDArgvArith, subject+fix)
	}
}

// argvSubject describes e if it is an unconverted ARGV value: ARGV[n] itself
// or a local assigned from it. It returns "" otherwise.
func (c *checker) argvSubject(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.AttrGetExpr:
		if c.isGlobal(x.Object, "ARGV") {
			if t := indexText(x); t != "" {
				return t + " is a string"
			}
			return "ARGV[...] is a string"
		}
	case *ast.IdentExpr:
		if v := c.scope.lookup(x.Value); v != nil && v.origin == fromArgv {
			return fmt.Sprintf("%s holds a string from ARGV", x.Value)
		}
	}
	return ""
}
