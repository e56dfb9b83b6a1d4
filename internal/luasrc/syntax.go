package luasrc

import (
	"fmt"
	"strings"

	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// SyntaxError is source that does not compile as Lua.
type SyntaxError struct {
	// Line is 1-based; 0 means the end of the script.
	Line int
	// Column is 1-based; 0 when unknown.
	Column int
	// Message says what is wrong, in gopher-lua's words.
	Message string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return "at end of script: " + e.Message
	}
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Message)
}

// Parse compiles src (with any shebang line blanked, as Redis does) and
// returns its syntax tree, or a *SyntaxError. It never panics.
//
// gopher-lua's parser accepts a little more than Redis's Lua 5.1 (goto and
// labels), so a script that passes here can still fail to compile on Redis
// in those rare cases; the error Redis then returns is mapped too.
func Parse(src string) (chunk []ast.Stmt, err error) {
	defer func() {
		if r := recover(); r != nil {
			chunk, err = nil, &SyntaxError{Message: fmt.Sprintf("parser failed: %v", r)}
		}
	}()
	chunk, err = parse.Parse(strings.NewReader(BlankShebang(src)), "script")
	if err != nil {
		return nil, toSyntaxError(err, src)
	}
	return chunk, nil
}

func toSyntaxError(err error, src string) *SyntaxError {
	pe, ok := err.(*parse.Error)
	if !ok {
		return &SyntaxError{Message: err.Error()}
	}
	if pe.Pos.Line == parse.EOF {
		return &SyntaxError{Line: lineCount(src), Message: pe.Message + " at end of script"}
	}
	se := &SyntaxError{Message: pe.Message}
	if pe.Token != "" {
		se.Message += fmt.Sprintf(" near %q", pe.Token)
	}
	if pe.Pos.Line > 0 {
		se.Line, se.Column = pe.Pos.Line, pe.Pos.Column
	}
	return se
}

// lineCount returns the number of the last line of src that has text.
func lineCount(src string) int {
	return strings.Count(strings.TrimRight(src, "\n\r\t "), "\n") + 1
}
