package luacheck

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/yuin/gopher-lua/ast"
)

// checkKeysIndex checks a read of KEYS[k] with a constant k.
func (c *checker) checkKeysIndex(e *ast.AttrGetExpr) {
	if !c.isGlobal(e.Object, "KEYS") {
		return
	}
	line, col := e.Line(), c.colOf(e)
	if s, ok := e.Key.(*ast.StringExpr); ok {
		c.report(line, col, IDKeysIndex, fmt.Sprintf(
			"KEYS[%q] is always nil: KEYS is indexed by position; use KEYS[1], KEYS[2], ...", s.Value))
		return
	}
	n, ok := constNumber(e.Key)
	if !ok {
		return
	}
	switch {
	case n < 1 || n != math.Trunc(n):
		c.report(line, col, IDKeysIndex, fmt.Sprintf(
			"KEYS[%s] is always nil: KEYS indexes are whole numbers from 1", formatNumber(n)))
	case c.cfg.DeclaredKeys > 0 && n > float64(c.cfg.DeclaredKeys):
		c.report(line, col, IDKeysIndex, fmt.Sprintf(
			"KEYS[%s] is beyond the %d keys the script declares; declare more keys or fix the index",
			formatNumber(n), c.cfg.DeclaredKeys))
	}
}

// checkMember reports a call of a library function that does not exist,
// such as table.unpack. Only calls are reported: reading the field is the
// usual way to test for it ("table.unpack or unpack").
func (c *checker) checkMember(f ast.Expr) {
	e, ok := f.(*ast.AttrGetExpr)
	if !ok {
		return
	}
	lib, ok := e.Object.(*ast.IdentExpr)
	if !ok || c.scope.lookup(lib.Value) != nil {
		return
	}
	members, ok := libraryMembers[lib.Value]
	key, ok2 := e.Key.(*ast.StringExpr)
	if !ok || !ok2 || members[key.Value] {
		return
	}
	name := lib.Value + "." + key.Value
	hint, ok := memberHints[name]
	if !ok {
		hint = "check the name against the Lua 5.1 manual"
	}
	c.report(e.Line(), c.colOf(e), IDUndefinedField, fmt.Sprintf(
		"%s does not exist in Redis's Lua 5.1, calling it fails; %s", name, hint))
}

// constNumber returns the value of a numeric literal, possibly negated.
func constNumber(e ast.Expr) (float64, bool) {
	switch x := e.(type) {
	case *ast.NumberExpr:
		return parseNumber(x.Value)
	case *ast.UnaryMinusOpExpr:
		n, ok := constNumber(x.Expr)
		return -n, ok
	}
	return 0, false
}

// parseNumber parses a Lua 5.1 numeric literal: decimal with optional
// fraction and exponent, or hexadecimal integer.
func parseNumber(s string) (float64, bool) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		return float64(u), err == nil
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !strings.ContainsAny(s, "xXpP_") // no Go-only syntax
}

func formatNumber(n float64) string {
	return strconv.FormatFloat(n, 'g', -1, 64)
}

// indexText renders a simple index expression such as ARGV[1], KEYS[i] or
// opts.key, and returns "" for anything more complex.
func indexText(e *ast.AttrGetExpr) string {
	obj, ok := e.Object.(*ast.IdentExpr)
	if !ok {
		return ""
	}
	switch k := e.Key.(type) {
	case *ast.NumberExpr:
		return obj.Value + "[" + k.Value + "]"
	case *ast.IdentExpr:
		return obj.Value + "[" + k.Value + "]"
	case *ast.StringExpr:
		if isName(k.Value) {
			return obj.Value + "." + k.Value
		}
	}
	return ""
}
