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

// maxDepth bounds the nesting of statements and expressions the walker
// follows. Lua 5.1 refuses far shallower nesting in most positions.
const maxDepth = 5000

// Check parses src (Lua 5.1 as Redis runs it) and returns findings sorted by
// line, column and ID. A syntax error is returned as a *SyntaxError. A first
// line starting with "#!" is ignored, as Redis 7 does.
func Check(src string, cfg Config) (findings []Finding, err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok && errors.Is(e, ErrTooDeep) {
				findings, err = nil, e
				return
			}
			findings, err = nil, fmt.Errorf("%w: %v", ErrInternal, r)
		}
	}()
	return check(src, cfg)
}

// check is Check without the panic guard, so tests see panics.
func check(src string, cfg Config) ([]Finding, error) {
	src = blankShebang(src)
	code, comments := scanTokens(src)
	pos := newPositions(code)
	chunk, err := parse.Parse(strings.NewReader(src), "user_script")
	if err != nil {
		return nil, syntaxError(err, src, pos)
	}
	if chunk == nil && len(pos.code) > 0 {
		// gopher-lua swallows a panic whose value is not an error.
		return nil, &SyntaxError{Line: 1, Col: 1, Message: "script could not be parsed"}
	}
	c := newChecker(cfg, pos)
	c.block(chunk, nil)
	if c.syntax != nil {
		return nil, c.syntax
	}
	return c.result(parseSuppressions(comments, pos)), nil
}

// blankShebang empties a "#!" first line, keeping the line break so line
// numbers hold.
func blankShebang(src string) string {
	if !strings.HasPrefix(src, "#!") {
		return src
	}
	if i := strings.IndexAny(src, "\r\n"); i >= 0 {
		return src[i:]
	}
	return ""
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

// pending is a finding before suppression, with the first line of its
// statement (a directive there also applies) and, for global reads and
// writes, the global's name.
type pending struct {
	Finding
	stmtLine int
	global   string
}

// checker holds the state of one walk over a script.
type checker struct {
	cfg     Config
	pos     *positions
	extra   map[string]bool // cfg.Globals
	scope   *scope
	cols    map[ast.Expr]int // columns of visited names and strings
	found   []pending
	written map[string]bool // globals assigned somewhere in the script
	stmt    int             // first line of the statement being walked
	depth   int
	syntax  *SyntaxError // Lua 5.2 syntax gopher-lua accepts
}

func newChecker(cfg Config, pos *positions) *checker {
	c := &checker{
		cfg:     cfg,
		pos:     pos,
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

// report records a finding at line and col (col 0 or less means unknown).
func (c *checker) report(line, col int, id, msg string) {
	c.found = append(c.found, pending{
		Finding:  Finding{Line: max(1, line), Col: max(1, col), ID: id, Severity: severities[id], Message: msg},
		stmtLine: c.stmt,
	})
}

// reportGlobal records a finding about the global called name.
func (c *checker) reportGlobal(line, col int, id, msg, name string) {
	c.report(line, col, id, msg)
	c.found[len(c.found)-1].global = name
}

// result drops suppressed and duplicate findings, and reads of globals the
// script also assigns (the assignment is reported), then sorts the rest.
func (c *checker) result(s suppressions) []Finding {
	var out []Finding
	for _, p := range c.found {
		if p.ID == IDUndefinedGlobal && c.written[p.global] {
			continue
		}
		if s.covers(p.Line, p.ID) || p.stmtLine > 0 && s.covers(p.stmtLine, p.ID) {
			continue
		}
		out = append(out, p.Finding)
	}
	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col),
			strings.Compare(a.ID, b.ID), strings.Compare(a.Message, b.Message))
	})
	return slices.Compact(out)
}
