package luacheck

import "fmt"

// gopher-lua parses what Lua 5.1 refuses to compile because of its fixed
// limits, and parses deep nesting at great cost (a chain of 1 M ".." took
// seconds and gigabytes). limits walks the tokens first, as Lua 5.1's
// recursive descent parser (lparser.c) does, and reports what Redis
// refuses with Lua's own message:
//
//   - more than 200 nested syntax levels (LUAI_MAXCCALLS): blocks,
//     parentheses, right-associative operators (.., ^), unary operators;
//   - more than 200 local variables active in one function (LUAI_MAXVARS),
//     counting loop control variables and a vararg function's arg;
//   - more than 60 upvalues in one function (LUAI_MAXUPVALUES);
//   - too many variables on the left of one assignment;
//   - "..." in a function that is not vararg;
//   - a call whose "(" starts a new line (ambiguous syntax);
//   - an empty statement (";;"), which gopher-lua accepts as Lua 5.2 does.
//
// It also follows Lua 5.1's grammar, where gopher-lua accepts more (an
// empty statement, ",," in a table): on a token the grammar does not allow
// it stops with Lua's message, which is reported if gopher-lua accepts
// the script. Its recursion is bounded by the levels it counts, so it runs
// in linear time on any input.

const (
	luaMaxCCalls   = 200 // LUAI_MAXCCALLS
	luaMaxVars     = 200 // LUAI_MAXVARS
	luaMaxUpvalues = 60  // LUAI_MAXUPVALUES
	unaryPriority  = 8
)

// limitError carries a limit error out of the recursion.
type limitError struct{ err *SyntaxError }

// giveUp unwinds the recursion on a token the grammar of Lua 5.1 does not
// allow there, with the syntax error Lua would report.
type giveUp struct{ err *SyntaxError }

type limitParser struct {
	code  []token
	i     int // current token
	level int // L->nCcalls
	fs    *funcState
	// visible maps a name to its active local declarations, innermost
	// last, across the functions being parsed.
	visible map[string][]*localDecl
}

// funcState is one function being parsed.
type funcState struct {
	prev     *funcState
	line     int          // line Lua reports the function at; 0 for the main chunk
	actvar   []*localDecl // active locals, by register
	pending  int          // locals declared but not yet active
	upvalues map[*localDecl]bool
	vararg   bool
	loops    int // loops around the current statement, for break
}

// localDecl is one local variable; an upvalue is known by the local it
// reaches, as Lua's (kind, index) pair identifies it while the function
// is parsed.
type localDecl struct {
	name string
	fs   *funcState
}

// checkLimits returns the first limit of Lua 5.1 that code exceeds, as a
// *SyntaxError, or else the first syntax error of Lua 5.1's grammar in
// code as grammar. A limit error stands; a grammar error is for the caller
// to report when gopher-lua accepts the script (gopher-lua's own message
// is kept otherwise), as it also accepts some Lua 5.2 syntax.
func checkLimits(code []token) (limit, grammar *SyntaxError) {
	p := &limitParser{code: code, visible: make(map[string][]*localDecl)}
	defer func() {
		switch r := recover().(type) {
		case nil:
		case limitError:
			limit = r.err
		case giveUp:
			grammar = r.err
		default:
			panic(r)
		}
	}()
	p.fs = &funcState{vararg: true}
	p.chunk()
	if p.i < len(p.code) {
		p.syntax("'<eof>' expected")
	}
	return nil, nil
}

// syntax stops at the current token with Lua's message for it.
func (p *limitParser) syntax(msg string) {
	near := "<eof>"
	if p.i < len(p.code) {
		near = p.code[p.i].text
		if p.code[p.i].kind == tokString {
			near = "string"
		}
	}
	line, col := p.position()
	panic(giveUp{&SyntaxError{Line: line, Col: col, Message: fmt.Sprintf(
		"%s near '%s' (Redis's Lua 5.1 refuses this)", msg, near)}})
}

// tok returns the current token's text, "" at the end; strings, numbers
// and names are told apart with kind.
func (p *limitParser) tok() string {
	if p.i >= len(p.code) {
		return ""
	}
	t := &p.code[p.i]
	switch t.kind {
	case tokName:
		return "<name>"
	case tokString:
		return "<string>"
	case tokNumber:
		return "<number>"
	case tokKeyword:
		if t.text == "goto" { // a name in Lua 5.1
			return "<name>"
		}
	}
	return t.text
}

func (p *limitParser) lookahead() string {
	p.i++
	t := p.tok()
	p.i--
	return t
}

func (p *limitParser) next() { p.i++ }

// line returns the line of the current token, or of the last one at the
// end.
func (p *limitParser) line() int {
	switch {
	case p.i < len(p.code):
		return int(p.code[p.i].line)
	case len(p.code) > 0:
		return int(p.code[len(p.code)-1].endLine)
	}
	return 1
}

func (p *limitParser) test(tok string) bool {
	if p.tok() == tok {
		p.next()
		return true
	}
	return false
}

func (p *limitParser) check(tok string) {
	if !p.test(tok) {
		p.syntax("'" + tok + "' expected")
	}
}

// fail reports msg at the current token, as luaX_lexerror does.
func (p *limitParser) fail(msg string) {
	line, col := p.position()
	panic(limitError{&SyntaxError{Line: line, Col: col, Message: msg}})
}

// position returns the line and column of the current token, or of the
// end of the last one at the end.
func (p *limitParser) position() (line, col int) {
	switch {
	case p.i < len(p.code):
		return int(p.code[p.i].line), int(p.code[p.i].col)
	case len(p.code) > 0:
		t := p.code[len(p.code)-1]
		return int(t.endLine), int(t.endCol)
	}
	return 1, 1
}

func (p *limitParser) enterLevel() {
	p.level++
	if p.level > luaMaxCCalls {
		p.fail(fmt.Sprintf("chunk has too many syntax levels: Redis's Lua 5.1 nests at most %d blocks and expressions; split the code into local functions or use locals", luaMaxCCalls))
	}
}

func (p *limitParser) leaveLevel() { p.level-- }

// errorLimit reports a limit of fs, as Lua words it.
func (p *limitParser) errorLimit(fs *funcState, limit int, what, hint string) {
	where := "main function"
	if fs.line > 0 {
		where = fmt.Sprintf("function at line %d", fs.line)
	}
	p.fail(fmt.Sprintf("%s has more than %d %s; %s", where, limit, what, hint))
}

func blockFollow(tok string) bool {
	switch tok {
	case "else", "elseif", "end", "until", "":
		return true
	}
	return false
}

func (p *limitParser) chunk() {
	p.enterLevel()
	for last := false; !last && !blockFollow(p.tok()); {
		last = p.statement()
		p.test(";")
	}
	p.leaveLevel()
}

// block parses a block in a scope of its own.
func (p *limitParser) block() {
	n := len(p.fs.actvar)
	p.chunk()
	p.leaveScope(n)
}

// leaveScope ends the locals of the current function past the first n.
func (p *limitParser) leaveScope(n int) {
	fs := p.fs
	for _, d := range fs.actvar[n:] {
		st := p.visible[d.name]
		p.visible[d.name] = st[:len(st)-1]
	}
	fs.actvar = fs.actvar[:n]
}

// newLocal declares a local that becomes active with activate.
func (p *limitParser) newLocal() {
	fs := p.fs
	if len(fs.actvar)+fs.pending+1 > luaMaxVars {
		p.errorLimit(fs, luaMaxVars, "local variables", "keep values in a local table")
	}
	fs.pending++
}

// activate makes pending locals active, in order.
func (p *limitParser) activate(names ...string) {
	fs := p.fs
	fs.pending -= len(names)
	for _, n := range names {
		d := &localDecl{name: n, fs: fs}
		fs.actvar = append(fs.actvar, d)
		p.visible[n] = append(p.visible[n], d)
	}
}

func (p *limitParser) name() string {
	if p.tok() != "<name>" {
		p.syntax("<name> expected")
	}
	s := p.code[p.i].text
	p.next()
	return s
}

// statement parses one statement and reports whether it must be the last
// of its block (return, break).
func (p *limitParser) statement() bool {
	switch p.tok() {
	case "if":
		p.testThenBlock()
		for p.tok() == "elseif" {
			p.testThenBlock()
		}
		if p.test("else") {
			p.block()
		}
		p.check("end")
	case "while":
		p.next()
		p.expr()
		p.check("do")
		p.loop(p.block)
		p.check("end")
	case "do":
		p.next()
		p.block()
		p.check("end")
	case "for":
		p.forStat()
	case "repeat":
		p.next()
		n := len(p.fs.actvar)
		p.loop(p.chunk)
		p.check("until")
		p.expr() // sees the body's locals
		p.leaveScope(n)
	case "function":
		line := int(p.code[p.i].line)
		p.next()
		p.singleVar(p.name())
		method := false
		for p.tok() == "." || p.tok() == ":" {
			method = p.tok() == ":"
			p.next()
			p.name()
			if method {
				break
			}
		}
		p.body(method, line)
	case "local":
		p.next()
		if p.tok() == "function" {
			p.next()
			name := p.name()
			p.newLocal()
			p.activate(name)
			p.body(false, p.line())
			return false
		}
		var names []string
		for {
			name := p.name()
			p.newLocal()
			names = append(names, name)
			if !p.test(",") {
				break
			}
		}
		if p.test("=") {
			p.exprList()
		}
		p.activate(names...)
	case "return":
		p.next()
		if !blockFollow(p.tok()) && p.tok() != ";" {
			p.exprList()
		}
		return true
	case "break":
		p.next()
		if p.fs.loops == 0 {
			p.syntax("no loop to break")
		}
		return true
	case ";":
		// gopher-lua takes it for an empty statement, as Lua 5.2 does.
		p.fail("unexpected symbol near ';': an empty statement (;;) is Lua 5.2, Redis's Lua 5.1 refuses it; remove the extra ';'")
	default:
		if p.primaryExp() {
			return false // a call
		}
		p.assignment(1)
	}
	return false
}

// loop parses the body of a loop, where break is allowed.
func (p *limitParser) loop(body func()) {
	fs := p.fs
	fs.loops++
	body()
	fs.loops--
}

func (p *limitParser) testThenBlock() {
	p.next()
	p.expr()
	p.check("then")
	p.block()
}

func (p *limitParser) forStat() {
	p.next()
	outer := len(p.fs.actvar)
	name := p.name()
	var names []string
	switch p.tok() {
	case "=":
		for range 4 { // (for index), (for limit), (for step), name
			p.newLocal()
		}
		p.next()
		p.expr()
		p.check(",")
		p.expr()
		if p.test(",") {
			p.expr()
		}
		names = []string{name}
	case ",", "in":
		for range 4 { // (for generator), (for state), (for control), name
			p.newLocal()
		}
		names = []string{name}
		for p.test(",") {
			names = append(names, p.name())
			p.newLocal()
		}
		p.check("in")
		p.exprList()
	default:
		p.syntax("'=' or 'in' expected")
	}
	p.activate("(for 1)", "(for 2)", "(for 3)") // names no script can use
	p.check("do")
	p.activate(names...)
	p.loop(p.block)
	p.check("end")
	p.leaveScope(outer)
}

// body parses a function's parameters and body.
func (p *limitParser) body(method bool, line int) {
	fs := &funcState{prev: p.fs, line: line}
	p.fs = fs
	p.check("(")
	var params []string
	if method {
		p.newLocal()
		params = append(params, "self")
	}
	if p.tok() != ")" {
		for {
			if p.tok() == "..." {
				p.next()
				p.newLocal() // arg, LUA_COMPAT_VARARG
				params = append(params, "arg")
				fs.vararg = true
				break
			}
			params = append(params, p.name())
			p.newLocal()
			if !p.test(",") {
				break
			}
		}
	}
	p.activate(params...)
	p.check(")")
	p.chunk()
	p.check("end")
	p.leaveScope(0)
	p.fs = fs.prev
}

func (p *limitParser) exprList() {
	p.expr()
	for p.test(",") {
		p.expr()
	}
}

func (p *limitParser) expr() { p.subExpr(0) }

// binaryPriority gives the left and right priorities of binary operators.
var binaryPriority = map[string][2]int{
	"+": {6, 6}, "-": {6, 6}, "*": {7, 7}, "/": {7, 7}, "%": {7, 7},
	"^": {10, 9}, "..": {5, 4},
	"~=": {3, 3}, "==": {3, 3}, "<": {3, 3}, "<=": {3, 3}, ">": {3, 3}, ">=": {3, 3},
	"and": {2, 2}, "or": {1, 1},
}

// subExpr parses an expression whose binary operators bind tighter than
// limit and returns the first operator it leaves.
func (p *limitParser) subExpr(limit int) string {
	p.enterLevel()
	switch p.tok() {
	case "not", "-", "#":
		p.next()
		p.subExpr(unaryPriority)
	default:
		p.simpleExp()
	}
	op := p.tok()
	for {
		prio, ok := binaryPriority[op]
		if !ok || prio[0] <= limit {
			break
		}
		p.next()
		op = p.subExpr(prio[1])
	}
	p.leaveLevel()
	return op
}

func (p *limitParser) simpleExp() {
	switch p.tok() {
	case "<number>", "<string>", "nil", "true", "false":
		p.next()
	case "...":
		if !p.fs.vararg {
			p.fail("cannot use '...' outside a vararg function near '...'")
		}
		p.next()
	case "{":
		p.constructor()
	case "function":
		p.next()
		p.body(false, p.line())
	default:
		p.primaryExp()
	}
}

// primaryExp parses a prefix expression and its suffixes; it reports
// whether it ends with a call.
func (p *limitParser) primaryExp() (call bool) {
	switch p.tok() {
	case "<name>":
		p.singleVar(p.name())
	case "(":
		p.next()
		p.expr()
		p.check(")")
	default:
		p.syntax("unexpected symbol")
	}
	for {
		switch p.tok() {
		case ".":
			p.next()
			p.name()
			call = false
		case "[":
			p.next()
			p.expr()
			p.check("]")
			call = false
		case ":":
			p.next()
			p.name()
			p.funcArgs()
			call = true
		case "(", "<string>", "{":
			p.funcArgs()
			call = true
		default:
			return call
		}
	}
}

func (p *limitParser) funcArgs() {
	switch p.tok() {
	case "(":
		if p.i > 0 && p.code[p.i].line != p.code[p.i-1].endLine {
			p.fail("ambiguous syntax (function call x new statement) near '('; end the previous statement with ';' or join the lines")
		}
		p.next()
		if p.tok() != ")" {
			p.exprList()
		}
		p.check(")")
	case "{":
		p.constructor()
	case "<string>":
		p.next()
	default:
		p.syntax("function arguments expected")
	}
}

func (p *limitParser) constructor() {
	p.check("{")
	for p.tok() != "}" {
		switch {
		case p.tok() == "<name>" && p.lookahead() == "=":
			p.next()
			p.next()
			p.expr()
		case p.tok() == "[":
			p.next()
			p.expr()
			p.check("]")
			p.check("=")
			p.expr()
		default:
			p.expr()
		}
		if !p.test(",") && !p.test(";") {
			break
		}
	}
	p.check("}")
}

// assignment parses the rest of "targets = values" after nvars targets.
func (p *limitParser) assignment(nvars int) {
	if p.test(",") {
		p.primaryExp()
		if nvars > luaMaxCCalls-p.level {
			p.errorLimit(p.fs, luaMaxCCalls-p.level, "variables in assignment", "split the assignment")
		}
		p.assignment(nvars + 1)
		return
	}
	p.check("=")
	p.exprList()
}

// singleVar resolves name as Lua does: a local of the current function, a
// global, or a local of an enclosing function, which then becomes an
// upvalue of every function from the current one out to it, the outermost
// first. A function that already has the upvalue stops the walk: all the
// functions around it have it too.
func (p *limitParser) singleVar(name string) {
	st := p.visible[name]
	if len(st) == 0 {
		return // a global
	}
	d := st[len(st)-1]
	var chain []*funcState
	for fs := p.fs; fs != d.fs && !fs.upvalues[d]; fs = fs.prev {
		chain = append(chain, fs)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		fs := chain[i]
		if len(fs.upvalues)+1 > luaMaxUpvalues {
			p.errorLimit(fs, luaMaxUpvalues, "upvalues", "pass values as parameters or keep them in a local table")
		}
		if fs.upvalues == nil {
			fs.upvalues = make(map[*localDecl]bool)
		}
		fs.upvalues[d] = true
	}
}
