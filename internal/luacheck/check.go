package luacheck

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// Severity tells how sure a finding is to break the script.
type Severity int

const (
	// Warning marks code that runs but is fragile or wrong in some cases.
	Warning Severity = iota + 1
	// Error marks code that Redis refuses when it runs.
	Error
)

// String returns "error" or "warning".
func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Finding is one problem found in a script.
type Finding struct {
	Line, Col int      // 1-based position; Col is best effort, 1 if unknown
	ID        string   // one of the ID* constants
	Severity  Severity // severity of the ID
	Message   string   // one line, says the fix
}

// String formats f as "line:col: severity: message [id]".
func (f Finding) String() string {
	return fmt.Sprintf("%d:%d: %s: %s [%s]", f.Line, f.Col, f.Severity, f.Message, f.ID)
}

// Config describes what the caller knows about the script.
// The zero value checks a script with undeclared keys that may write.
type Config struct {
	// DeclaredKeys is the number of KEYS the script's header declares; 0
	// means undeclared and skips the upper bound of the KEYS[n] check.
	DeclaredKeys int
	// NoWrites says the script is flagged no-writes (or run with EVAL_RO).
	NoWrites bool
	// Globals are extra global names defined elsewhere, accepted on read.
	Globals []string
}

// SyntaxError is a script that Lua cannot compile.
type SyntaxError struct {
	Line, Col int // 1-based position; Col is best effort
	Message   string
}

// Error returns "luacheck: syntax error at line:col: message".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("luacheck: syntax error at %d:%d: %s", e.Line, e.Col, e.Message)
}

// Unwrap returns ErrSyntax, so errors.Is(err, ErrSyntax) holds.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

var (
	// ErrSyntax is wrapped by every *SyntaxError.
	ErrSyntax = errors.New("luacheck: syntax error")
	// ErrInternal is wrapped by the error Check returns when the checker
	// itself fails; it is a bug in this package, not in the script.
	ErrInternal = errors.New("luacheck: internal error")
	// ErrTooDeep is wrapped by the error Check returns for a script nested
	// too deeply to walk.
	ErrTooDeep = errors.New("luacheck: script nested too deeply")
)

// MaxFindings is the most findings Check returns: past it, errors are kept
// before warnings, and earlier lines before later ones.
const MaxFindings = 1000

// maxDepth bounds the nesting of statements and expressions the walker
// follows. Lua 5.1 refuses far shallower nesting in most positions.
const maxDepth = 5000

// Check parses src (Lua 5.1 as Redis runs it) and returns findings sorted by
// line, column and ID, at most MaxFindings of them. A script Redis would
// not compile, for its syntax or past one of Lua 5.1's limits, is a
// *SyntaxError. A first line starting with "#!" is dropped up to its line
// break, as Redis 7 does (without one, it is a *SyntaxError). Check takes
// time and memory linear in the length of src.
func Check(src string, cfg Config) (findings []Finding, err error) {
	return checkGuarded(src, cfg, nil)
}

// checkGuarded is check with the panic guard; lib is not nil for a
// function library.
func checkGuarded(src string, cfg Config, lib *library) (findings []Finding, err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok && errors.Is(e, ErrTooDeep) {
				findings, err = nil, e
				return
			}
			findings, err = nil, fmt.Errorf("%w: %v", ErrInternal, r)
		}
	}()
	return checkLibrary(src, cfg, nil, lib)
}

// cost is the work one Check did, counted for tests that bound it: tokens
// scanned, entries looked at to find columns, syntax-tree visits.
type cost struct {
	tokens, steps, visits int
}

// check is Check without the panic guard, so tests see panics. It adds
// its work to w if w is not nil.
func check(src string, cfg Config, w *cost) ([]Finding, error) {
	return checkLibrary(src, cfg, w, nil)
}

// checkLibrary is check, for a function library when lib is not nil.
func checkLibrary(src string, cfg Config, w *cost, lib *library) ([]Finding, error) {
	src, ok := blankShebang(src)
	if !ok {
		return nil, &SyntaxError{Line: 1, Col: 1, Message: "invalid script shebang: the #! line must end with a line break"}
	}
	code, comments := scanTokens(src)
	if w != nil {
		w.tokens += len(code) + len(comments)
	}
	limit, grammar := checkLimits(code)
	if err := firstError(checkEscapes(code), firstError(checkNumbers(code), limit)); err != nil {
		return nil, err
	}
	pos := newPositions(code)
	chunk, err := parse.Parse(strings.NewReader(forGopherLua(src, code)), "user_script")
	if err != nil {
		return nil, syntaxError(err, src, pos)
	}
	if chunk == nil && len(pos.code) > 0 {
		// gopher-lua swallows a panic whose value is not an error.
		return nil, &SyntaxError{Line: 1, Col: 1, Message: "script could not be parsed"}
	}
	c := newChecker(cfg, pos, parseSuppressions(comments, pos))
	if w != nil {
		defer func() { w.steps, w.visits = w.steps+pos.steps, w.visits+c.visits }()
	}
	if lib != nil {
		c.lib = lib
		c.readRegistrations(chunk)
	}
	c.block(chunk, nil)
	if c.syntax != nil {
		return nil, c.syntax
	}
	if grammar != nil {
		return nil, grammar
	}
	if lib != nil {
		c.libraryResult()
	}
	return c.result(), nil
}

// firstError returns the earlier of two errors found in one pass each, as
// Lua, which reads the script once, would report it; nil if neither.
func firstError(a, b *SyntaxError) *SyntaxError {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case b.Line < a.Line || b.Line == a.Line && b.Col < a.Col:
		return b
	}
	return a
}

// blankShebang drops a "#!" first line up to its "\n", as Redis 7 does
// before it compiles the rest, so line numbers hold. ok is false for a
// shebang without a line break, which Redis refuses.
func blankShebang(src string) (_ string, ok bool) {
	if !strings.HasPrefix(src, "#!") {
		return src, true
	}
	i := strings.IndexByte(src, '\n')
	if i < 0 {
		return "", false
	}
	return src[i:], true
}

// syntaxError converts a parse error to a *SyntaxError.
func syntaxError(err error, src string, pos *positions) *SyntaxError {
	var pe *parse.Error
	if !errors.As(err, &pe) {
		return &SyntaxError{Line: 1, Col: 1, Message: firstLine(err.Error())}
	}
	msg := pe.Message
	if pe.Pos.Line == parse.EOF {
		// Point at the last line with text, not at the empty line after a
		// final line break.
		text := strings.TrimRight(src, " \t\r\n")
		return &SyntaxError{Line: lineCount(text), Col: len(text) - strings.LastIndexAny(text, "\r\n") - 1, Message: firstLine(msg + " at end of script")}
	}
	if pe.Token != "" {
		msg += fmt.Sprintf(" near '%s'", pe.Token)
	}
	col := max(1, pos.startOfTokenEndingAt(pe.Pos.Line, pe.Pos.Column))
	return &SyntaxError{Line: max(1, pe.Pos.Line), Col: col, Message: firstLine(msg)}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// undefinedRead is a read of a global the sandbox lacks, kept apart from
// other findings because it is dropped if the script also assigns the global
// (the assignment is reported); its message is made at the end, and only
// for the reads that are returned.
type undefinedRead struct {
	line, col int32
	name      string
}

// checker holds the state of one walk over a script.
type checker struct {
	cfg     Config
	pos     *positions
	extra   map[string]bool // cfg.Globals
	scope   *scope
	cols    map[ast.Expr]int // columns of visited names and strings
	ignore  suppressions     // the script's ignore directives
	found   []Finding        // findings but undefined-global reads, see report
	reads   []undefinedRead
	written map[string]bool   // globals assigned somewhere in the script
	unknown map[string]string // message by unknown command name
	stmt    int               // first line of the statement being walked
	depth   int
	visits  int          // calls of enter, for tests that bound the work
	syntax  *SyntaxError // Lua 5.2 syntax gopher-lua accepts
	lib     *library     // nil for a script
}

func newChecker(cfg Config, pos *positions, ignore suppressions) *checker {
	c := &checker{
		cfg:     cfg,
		pos:     pos,
		ignore:  ignore,
		extra:   make(map[string]bool, len(cfg.Globals)),
		scope:   &scope{},
		cols:    make(map[ast.Expr]int, pos.namesAndStrings),
		written: make(map[string]bool),
	}
	for _, g := range cfg.Globals {
		c.extra[g] = true
	}
	return c
}

// report records a finding at line and col (col 0 or less means unknown),
// unless a directive silences it there or on the first line of its
// statement. Past 2*MaxFindings findings it drops those that cannot be
// returned, so that a script with a finding per token costs memory for
// MaxFindings, not for every token.
func (c *checker) report(line, col int, id, msg string) {
	line = max(1, line)
	if c.silenced(line, id) {
		return
	}
	c.found = append(c.found, Finding{Line: line, Col: max(1, col), ID: id, Severity: severities[id], Message: msg})
	if len(c.found) >= 2*MaxFindings {
		c.found = best(c.found)
	}
}

func (c *checker) silenced(line int, id string) bool {
	return c.ignore.covers(line, id) || c.stmt > 0 && c.ignore.covers(c.stmt, id)
}

// reportRead records a read of the undefined global name.
func (c *checker) reportRead(line, col int, name string) {
	line = max(1, line)
	if !c.silenced(line, IDUndefinedGlobal) {
		c.reads = append(c.reads, undefinedRead{line: int32(line), col: int32(max(1, col)), name: name})
	}
}

// result adds the reads of globals the script does not assign to the
// findings, and returns the findings to report, sorted.
func (c *checker) result() []Finding {
	reads := slices.DeleteFunc(c.reads, func(r undefinedRead) bool { return c.written[r.name] })
	slices.SortStableFunc(reads, func(a, b undefinedRead) int {
		return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.col, b.col))
	})
	reads = slices.Compact(reads)
	for _, r := range reads[:min(len(reads), MaxFindings)] {
		c.found = append(c.found, Finding{Line: int(r.line), Col: int(r.col), ID: IDUndefinedGlobal,
			Severity: severities[IDUndefinedGlobal], Message: undefinedMessage(r.name)})
	}
	out := best(c.found)
	slices.SortFunc(out, byPosition)
	return out
}

// best returns the findings Check returns of fs, in no order: errors before
// warnings, then earlier before later, at most MaxFindings, without
// duplicates.
func best(fs []Finding) []Finding {
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(-cmp.Compare(a.Severity, b.Severity), byPosition(a, b))
	})
	fs = slices.Compact(fs)
	return fs[:min(len(fs), MaxFindings)]
}

func byPosition(a, b Finding) int {
	return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col),
		strings.Compare(a.ID, b.ID), strings.Compare(a.Message, b.Message))
}
