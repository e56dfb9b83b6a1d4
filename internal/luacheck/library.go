package luacheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/yuin/gopher-lua/ast"
)

// IDRegisterFunction reports a redis.register_function call that Redis
// refuses or that cannot be read without running the library: a name that
// is not a string literal of letters, digits and underscores, a name
// registered twice, an unknown flag or argument, a call not at the top
// level of the library, and a library that registers nothing. It cannot be
// ignored. Severity: Error.
const IDRegisterFunction = "register-function"

// FunctionFlags are the flags Redis 7.0 accepts in a function's "flags"
// table (function_lua.c, luaRegisterFunctionReadFlags).
var FunctionFlags = []string{"no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"}

// Registration is one function a library registers with
// redis.register_function.
type Registration struct {
	Name  string
	Flags []string // in order, without duplicates
	Line  int      // of the redis.register_function call
}

// library is what the checker knows of the library it walks.
type library struct {
	regs      []Registration
	calls     map[*ast.FuncCallExpr]bool // the register calls read
	callbacks map[*ast.FunctionExpr]bool // their callbacks
	problems  []libraryProblem           // reported after the walk
	names     map[string]int             // line of each name registered
}

type libraryProblem struct {
	line int
	at   ast.Expr // for the column; nil for none
	msg  string
}

// CheckLibrary is Check for a Redis Functions library (a source whose
// first line is "#!lua name=<lib>"): it also returns the functions the
// library registers, read without running it. Only calls of
// redis.register_function at the top level of the library, with a literal
// name, are read; any other is an IDRegisterFunction error, as are the
// registrations Redis refuses. KEYS and ARGV are not globals in a
// function: reading them is an IDUndefinedGlobal error. The first
// parameter of a callback (its keys) is taken as KEYS for the
// key-not-from-KEYS check.
func CheckLibrary(src string, cfg Config) (regs []Registration, findings []Finding, err error) {
	lib := &library{
		calls:     map[*ast.FuncCallExpr]bool{},
		callbacks: map[*ast.FunctionExpr]bool{},
		names:     map[string]int{},
	}
	findings, err = checkGuarded(src, cfg, lib)
	if err != nil {
		return nil, nil, err
	}
	return lib.regs, findings, nil
}

// isRegister reports whether e calls redis.register_function (the global
// redis).
func (c *checker) isRegister(e *ast.FuncCallExpr) bool {
	f, ok := e.Func.(*ast.AttrGetExpr)
	if !ok || !c.isGlobal(f.Object, "redis") {
		return false
	}
	k, ok := f.Key.(*ast.StringExpr)
	return ok && k.Value == "register_function"
}

// readRegistrations reads the register calls among the top-level
// statements of a library, before the walk, so that the walk knows the
// callbacks. Only local functions defined at the top level are followed
// by name.
func (c *checker) readRegistrations(chunk []ast.Stmt) {
	lib := c.lib
	locals := map[string]*ast.FunctionExpr{}
	for _, s := range chunk {
		switch s := s.(type) {
		case *ast.LocalAssignStmt:
			for i, name := range s.Names {
				delete(locals, name)
				if i < len(s.Exprs) {
					if f, ok := s.Exprs[i].(*ast.FunctionExpr); ok {
						locals[name] = f
					}
				}
			}
		case *ast.FuncCallStmt:
			if call, ok := s.Expr.(*ast.FuncCallExpr); ok && call.Func != nil && c.isRegister(call) {
				lib.calls[call] = true
				c.register(call, locals)
			}
		}
	}
}

// register reads one register call: the plain form (name, callback) or
// the table form {function_name=, callback=, flags=, description=}.
func (c *checker) register(call *ast.FuncCallExpr, locals map[string]*ast.FunctionExpr) {
	lib := c.lib
	fail := func(at ast.Expr, msg string) {
		lib.problems = append(lib.problems, libraryProblem{line: call.Line(), at: at, msg: msg})
	}
	var name, callback ast.Expr
	var flags []string
	switch {
	case len(call.Args) == 2:
		name, callback = call.Args[0], call.Args[1]
	case len(call.Args) == 1:
		t, ok := call.Args[0].(*ast.TableExpr)
		if !ok {
			fail(call.Args[0], "redis.register_function takes a name and a callback, or a table literal {function_name=..., callback=..., flags={...}}")
			return
		}
		for _, f := range t.Fields {
			k, ok := f.Key.(*ast.StringExpr)
			if !ok {
				fail(f.Value, "unknown argument given to redis.register_function: use function_name=, callback=, flags= and description=")
				return
			}
			switch k.Value {
			case "function_name":
				name = f.Value
			case "callback":
				callback = f.Value
			case "flags":
				var ok bool
				if flags, ok = c.readFlags(f.Value, fail); !ok {
					return
				}
			case "description":
			default:
				fail(f.Value, fmt.Sprintf("unknown argument given to redis.register_function: %q", k.Value))
				return
			}
		}
		if name == nil {
			fail(call.Func, "redis.register_function must get a function name argument")
			return
		}
		if callback == nil {
			fail(call.Func, "redis.register_function must get a callback argument")
			return
		}
	default:
		fail(call.Func, "wrong number of arguments to redis.register_function")
		return
	}
	lit, ok := name.(*ast.StringExpr)
	if !ok {
		fail(name, "the function name must be a string literal, so that it is known without running the library")
		return
	}
	if !validName(lit.Value) {
		fail(name, fmt.Sprintf("function names can only contain letters, numbers, or underscores(_) and must be at least one character long: %q", lit.Value))
		return
	}
	if first, dup := lib.names[lit.Value]; dup {
		fail(name, fmt.Sprintf("function %q is already registered on line %d", lit.Value, first))
		return
	}
	lib.names[lit.Value] = call.Line()
	switch cb := callback.(type) {
	case *ast.FunctionExpr:
		lib.callbacks[cb] = true
	case *ast.IdentExpr:
		if f, ok := locals[cb.Value]; ok {
			lib.callbacks[f] = true
		}
	}
	lib.regs = append(lib.regs, Registration{Name: lit.Value, Flags: flags, Line: call.Line()})
}

// readFlags reads a flags table of string literals.
func (c *checker) readFlags(e ast.Expr, fail func(ast.Expr, string)) ([]string, bool) {
	t, ok := e.(*ast.TableExpr)
	if !ok {
		fail(e, "flags must be a table literal of flag names, such as {'no-writes'}")
		return nil, false
	}
	var flags []string
	for _, f := range t.Fields {
		s, ok := f.Value.(*ast.StringExpr)
		if f.Key != nil || !ok {
			fail(f.Value, "flags must be a table literal of flag names, such as {'no-writes'}")
			return nil, false
		}
		if !slices.Contains(FunctionFlags, s.Value) {
			fail(f.Value, fmt.Sprintf("unknown flag given: %q (known: %s)", s.Value, strings.Join(FunctionFlags, ", ")))
			return nil, false
		}
		if !slices.Contains(flags, s.Value) {
			flags = append(flags, s.Value)
		}
	}
	return flags, true
}

// libraryResult adds the library's problems to the findings; they cannot
// be ignored.
func (c *checker) libraryResult() {
	lib := c.lib
	if len(lib.regs) == 0 && len(lib.problems) == 0 {
		lib.problems = append(lib.problems, libraryProblem{line: 1, msg: "No functions registered: a library must call redis.register_function"})
	}
	for _, p := range lib.problems {
		col := 1
		if p.at != nil {
			col = max(1, c.colOf(p.at))
		}
		c.found = append(c.found, Finding{Line: p.line, Col: col, ID: IDRegisterFunction, Severity: Error, Message: p.msg})
	}
}

// checkRegisterCall reports a register call that readRegistrations did
// not read: one inside a block or a function.
func (c *checker) checkRegisterCall(e *ast.FuncCallExpr) {
	if c.lib == nil || !c.isRegister(e) || c.lib.calls[e] {
		return
	}
	c.lib.problems = append(c.lib.problems, libraryProblem{line: e.Line(), at: e.Func,
		msg: "redis.register_function must be called at the top level of the library, so that its functions are known without running it"})
}

func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '_') {
			return false
		}
	}
	return true
}
