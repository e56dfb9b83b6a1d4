package luacheck

import (
	"fmt"

	"github.com/yuin/gopher-lua/ast"
)

// The walker visits the syntax tree in source order, keeping the lexical
// scope of locals, so that every name is resolved to a local or a global
// as Lua resolves it, and columns can be taken from the tokens in order.

func (c *checker) enter() {
	c.visits++
	c.depth++
	if c.depth > maxDepth {
		panic(fmt.Errorf("%w: more than %d levels", ErrTooDeep, maxDepth))
	}
}

func (c *checker) leave() { c.depth-- }

// block walks stmts in a new scope; declare, if not nil, runs first inside
// it to bind function parameters or loop variables.
func (c *checker) block(stmts []ast.Stmt, declare func()) {
	c.scope = &scope{parent: c.scope}
	if declare != nil {
		declare()
	}
	for _, s := range stmts {
		c.statement(s)
	}
	c.scope = c.scope.parent
}

func (c *checker) statement(s ast.Stmt) {
	c.enter()
	defer c.leave()
	outer := c.stmt
	c.stmt = s.Line()
	defer func() { c.stmt = outer }()

	switch s := s.(type) {
	case *ast.AssignStmt:
		c.assign(s)
	case *ast.LocalAssignStmt:
		c.localAssign(s)
	case *ast.FuncCallStmt:
		c.expr(s.Expr)
	case *ast.DoBlockStmt:
		c.block(s.Stmts, nil)
	case *ast.WhileStmt:
		c.expr(s.Condition)
		c.block(s.Stmts, nil)
	case *ast.RepeatStmt:
		// The condition sees the body's locals.
		c.scope = &scope{parent: c.scope}
		for _, st := range s.Stmts {
			c.statement(st)
		}
		c.expr(s.Condition)
		c.scope = c.scope.parent
	case *ast.IfStmt:
		// gopher-lua nests each elseif in the else of the one before; Lua
		// parses a chain of them without nesting, so Redis accepts one of
		// any length: walk it in a loop.
		for {
			c.expr(s.Condition)
			c.block(s.Then, nil)
			next, ok := elseIf(s)
			if !ok {
				c.block(s.Else, nil)
				break
			}
			s, c.stmt = next, next.Line()
		}
	case *ast.NumberForStmt:
		c.pos.name(s.Line(), s.Name)
		c.expr(s.Init)
		c.expr(s.Limit)
		c.expr(s.Step)
		c.block(s.Stmts, func() { c.scope.declare(s.Name, fromUnknown) })
	case *ast.GenericForStmt:
		for _, n := range s.Names {
			c.pos.name(s.Line(), n)
		}
		for _, e := range s.Exprs {
			c.expr(e)
		}
		origins := c.loopOrigins(s)
		c.block(s.Stmts, func() {
			for i, n := range s.Names {
				c.scope.declare(n, origins[i])
			}
		})
	case *ast.FuncDefStmt:
		c.funcDef(s)
	case *ast.ReturnStmt:
		for _, e := range s.Exprs {
			c.expr(e)
		}
	case *ast.LabelStmt:
		c.lua52(s.Line(), "::")
	case *ast.GotoStmt:
		c.lua52(s.Line(), "goto")
	}
}

// elseIf returns the if statement that is all of s's else branch.
func elseIf(s *ast.IfStmt) (*ast.IfStmt, bool) {
	if len(s.Else) != 1 {
		return nil, false
	}
	next, ok := s.Else[0].(*ast.IfStmt)
	return next, ok
}

// lua52 records goto or a label, which gopher-lua parses but Lua 5.1, and
// so Redis, refuses to compile.
func (c *checker) lua52(line int, tok string) {
	if c.syntax == nil {
		c.syntax = &SyntaxError{
			Line:    line,
			Col:     max(1, c.pos.keyword(line, tok)),
			Message: "goto and labels are Lua 5.2; Redis runs Lua 5.1, use a flag or a nested if",
		}
	}
}

// assign walks "targets = values". Values are evaluated before any target
// changes, so origins are taken first.
func (c *checker) assign(s *ast.AssignStmt) {
	for _, t := range s.Lhs {
		c.target(t)
	}
	origins := c.origins(s.Rhs, len(s.Lhs))
	numbers := c.numbersOf(s.Rhs, len(s.Lhs))
	for _, e := range s.Rhs {
		c.expr(e)
	}
	for i, t := range s.Lhs {
		c.store(t, origins[i], false)
		c.noteNumbers(t, numbers[i])
	}
}

// localAssign walks "local names = values". The names are in scope only
// after the statement, except in "local function f", where f is visible in
// its own body.
func (c *checker) localAssign(s *ast.LocalAssignStmt) {
	localFunction := false
	for i, n := range s.Names {
		if lf := c.pos.localName(s.Line(), n); i == 0 {
			localFunction = lf
		}
	}
	if len(s.Names) == 1 && len(s.Exprs) == 1 {
		if _, ok := s.Exprs[0].(*ast.FunctionExpr); ok && localFunction {
			c.scope.declare(s.Names[0], fromUnknown)
			c.expr(s.Exprs[0])
			return
		}
	}
	origins := c.origins(s.Exprs, len(s.Names))
	numbers := c.numbersOf(s.Exprs, len(s.Names))
	for _, e := range s.Exprs {
		c.expr(e)
	}
	for i, n := range s.Names {
		c.scope.declare(n, origins[i])
		c.scope.lookup(n).number = numbers[i]
	}
}

// funcDef walks "function name() end", which assigns a function to name.
func (c *checker) funcDef(s *ast.FuncDefStmt) {
	n := s.Name
	switch {
	case n.Func != nil:
		c.target(n.Func)
		c.store(n.Func, fromUnknown, true)
		c.function(s.Func, false)
	case n.Receiver != nil:
		// function a.b:m() assigns a field of a.b.
		c.expr(n.Receiver)
		c.pos.member(n.Receiver.Line(), n.Method)
		if root := c.readonlyRoot(n.Receiver); root != "" {
			c.report(n.Receiver.Line(), c.colOf(n.Receiver), IDGlobalWrite, fmt.Sprintf(
				"method %q defined on the read-only table %q; define it on a local table", n.Method, root))
		}
		c.function(s.Func, true)
	}
}

// target walks the parts of an assignment target that are read: the table
// and key of t[k], nothing of a plain name.
func (c *checker) target(t ast.Expr) {
	switch t := t.(type) {
	case *ast.IdentExpr:
		c.cols[t] = c.pos.name(t.Line(), t.Value)
	case *ast.AttrGetExpr:
		c.index(t)
	default:
		c.expr(t)
	}
}

// store assigns a value of origin o to target t.
func (c *checker) store(t ast.Expr, o origin, isFunc bool) {
	switch t := t.(type) {
	case *ast.IdentExpr:
		if v := c.scope.lookup(t.Value); v != nil {
			v.origin = o
			return
		}
		c.written[t.Value] = true
		msg := fmt.Sprintf("global variable %q assigned; declare it with \"local %s\"", t.Value, t.Value)
		if isFunc {
			msg = fmt.Sprintf("global function %q declared; declare it with \"local function %s\"", t.Value, t.Value)
		}
		c.report(t.Line(), c.cols[t], IDGlobalWrite, msg)
	case *ast.AttrGetExpr:
		if obj, ok := t.Object.(*ast.IdentExpr); ok && c.isGlobal(obj, "_G") {
			if k, ok := t.Key.(*ast.StringExpr); ok {
				c.written[k.Value] = true
				c.report(t.Line(), c.colOf(t), IDGlobalWrite, fmt.Sprintf(
					"global variable %q assigned through _G; the globals are read-only, use a local", k.Value))
				return
			}
		}
		if root := c.readonlyRoot(t.Object); root != "" {
			msg := fmt.Sprintf("field of the read-only table %q assigned; copy what you need into a local table", root)
			if isFunc {
				msg = fmt.Sprintf("function defined on the read-only table %q; make it a local function", root)
			}
			c.report(t.Line(), c.colOf(t), IDGlobalWrite, msg)
		}
	}
}

// readonlyRoot returns the name of the Redis-provided global table that e
// reaches through fields (string in string.x.y), or "" if there is none.
func (c *checker) readonlyRoot(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.AttrGetExpr:
			e = x.Object
		case *ast.IdentExpr:
			if c.scope.lookup(x.Value) == nil && scriptGlobals[x.Value] && !writableGlobals[x.Value] {
				return x.Value
			}
			return ""
		default:
			return ""
		}
	}
}

// function walks a function body with its parameters in scope.
func (c *checker) function(f *ast.FunctionExpr, method bool) {
	c.block(f.Stmts, func() {
		if method {
			c.scope.declare("self", fromParam)
		}
		if f.ParList == nil {
			return
		}
		for i, p := range f.ParList.Names {
			c.pos.name(f.Line(), p)
			if i == 0 && c.lib != nil && c.lib.callbacks[f] {
				c.scope.declare(p, fromKeysTable) // a function's keys
				continue
			}
			if i == 1 && c.lib != nil && c.lib.callbacks[f] {
				c.scope.declare(p, fromArgvTable) // a function's args
				continue
			}
			c.scope.declare(p, fromParam)
		}
		if f.ParList.HasVargs {
			// Lua 5.1 (LUA_COMPAT_VARARG, as Redis builds it) gives a
			// vararg function a local table arg of its extra arguments.
			c.scope.declare("arg", fromUnknown)
		}
	})
}

func (c *checker) expr(e ast.Expr) {
	if e == nil {
		return
	}
	c.enter()
	defer c.leave()

	switch e := e.(type) {
	case *ast.IdentExpr:
		c.cols[e] = c.pos.name(e.Line(), e.Value)
		if c.scope.lookup(e.Value) == nil {
			c.globalRead(e)
		}
	case *ast.StringExpr:
		c.cols[e] = c.pos.str(e.Line(), e.Value)
	case *ast.AttrGetExpr:
		c.index(e)
		c.checkKeysIndex(e)
	case *ast.FuncCallExpr:
		if e.Func != nil {
			c.expr(e.Func)
		} else {
			c.expr(e.Receiver)
			c.pos.member(e.Receiver.Line(), e.Method)
		}
		for _, a := range e.Args {
			c.expr(a)
		}
		c.call(e)
	case *ast.LogicalOpExpr, *ast.RelationalOpExpr, *ast.StringConcatOpExpr, *ast.ArithmeticOpExpr:
		c.binary(e)
	case *ast.UnaryMinusOpExpr:
		c.expr(e.Expr)
		c.checkArith(e.Expr)
	case *ast.UnaryNotOpExpr:
		c.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		c.expr(e.Expr)
	case *ast.FunctionExpr:
		c.function(e, false)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			c.fieldKey(f.Key)
			c.expr(f.Value)
		}
		c.checkErrorTable(e)
	}
}

// binary walks a binary operation. Lua parses a chain of left-associative
// operators (a + b + c ...) without nesting, so Redis accepts one of any
// length: the chain's left spine is walked in a loop, in source order, not
// by recursion.
func (c *checker) binary(e ast.Expr) {
	n := 1
	for l, _, _ := operands(e); ; l, _, _ = operands(l) {
		if _, _, more := operands(l); !more {
			break
		}
		n++
	}
	spine := make([]ast.Expr, 0, n)
	for x := e; len(spine) < n; x, _, _ = operands(x) {
		spine = append(spine, x)
	}
	first, _, _ := operands(spine[len(spine)-1])
	c.expr(first)
	for i := len(spine) - 1; i >= 0; i-- {
		_, rhs, _ := operands(spine[i])
		c.expr(rhs)
		switch x := spine[i].(type) {
		case *ast.RelationalOpExpr:
			c.checkCompare(x)
		case *ast.ArithmeticOpExpr:
			c.checkArith(x.Lhs)
			c.checkArith(x.Rhs)
		}
	}
}

// operands returns the operands of a binary operation; ok is false for
// other expressions.
func operands(e ast.Expr) (lhs, rhs ast.Expr, ok bool) {
	switch x := e.(type) {
	case *ast.LogicalOpExpr:
		return x.Lhs, x.Rhs, true
	case *ast.RelationalOpExpr:
		return x.Lhs, x.Rhs, true
	case *ast.StringConcatOpExpr:
		return x.Lhs, x.Rhs, true
	case *ast.ArithmeticOpExpr:
		return x.Lhs, x.Rhs, true
	}
	return nil, nil, false
}

// index walks the table and key of t[k] or t.k.
func (c *checker) index(e *ast.AttrGetExpr) {
	c.expr(e.Object)
	if k, ok := e.Key.(*ast.StringExpr); ok && isName(k.Value) {
		if col := c.pos.member(k.Line(), k.Value); col > 0 {
			c.cols[k] = col
			return
		}
	}
	c.expr(e.Key)
}

// fieldKey walks the key of a table constructor field, if any.
func (c *checker) fieldKey(k ast.Expr) {
	if s, ok := k.(*ast.StringExpr); ok && isName(s.Value) {
		if col := c.pos.field(s.Line(), s.Value); col > 0 {
			c.cols[s] = col
			return
		}
	}
	c.expr(k)
}

// globalRead checks a read of the global e.
func (c *checker) globalRead(e *ast.IdentExpr) {
	name := e.Value
	if c.lib != nil && (name == "KEYS" || name == "ARGV") && !c.extra[name] {
		c.report(e.Line(), c.cols[e], IDUndefinedGlobal, fmt.Sprintf(
			"%s is not a global in a Redis function (\"Script attempted to access nonexistent global variable '%s'\"); use the callback's parameters (keys, args)", name, name))
		return
	}
	if scriptGlobals[name] || c.extra[name] {
		return
	}
	c.reportRead(e.Line(), c.cols[e], name)
}

// undefinedMessage explains a read of the undefined global name.
func undefinedMessage(name string) string {
	if msg, ok := missingGlobalHints[name]; ok {
		return msg
	}
	return fmt.Sprintf("undefined global %q; declare \"local %s\" before use or fix the name", name, name)
}

// isGlobal reports whether e is the global (not shadowed) called name.
func (c *checker) isGlobal(e ast.Expr, name string) bool {
	id, ok := e.(*ast.IdentExpr)
	return ok && id.Value == name && c.scope.lookup(name) == nil
}

// colOf returns the column of the leftmost visited token of e, or 0.
func (c *checker) colOf(e ast.Expr) int {
	for {
		switch x := e.(type) {
		case *ast.IdentExpr, *ast.StringExpr:
			return c.cols[x]
		case *ast.AttrGetExpr:
			e = x.Object
		case *ast.FuncCallExpr:
			if x.Func != nil {
				e = x.Func
			} else {
				e = x.Receiver
			}
		case *ast.ArithmeticOpExpr:
			e = x.Lhs
		case *ast.StringConcatOpExpr:
			e = x.Lhs
		case *ast.RelationalOpExpr:
			e = x.Lhs
		case *ast.LogicalOpExpr:
			e = x.Lhs
		default:
			return 0
		}
	}
}
