package redislua

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redislua/redislua/internal/luacheck"
	"github.com/redislua/redislua/internal/luasrc"
)

// ErrCheck means a script failed the static checks that NewScript and
// NewRegistry run; see *CheckError.
var ErrCheck = errors.New("redislua: script failed static checks")

// Severity says whether a Finding stops a script from loading.
type Severity int

const (
	// SeverityWarning marks code that runs but is fragile or wrong in some
	// cases (a key built inside the script, arithmetic on a raw ARGV).
	// Warnings are reported by Registry.Warnings and the CLI; they stop a
	// script only under RegistryOptions.StrictChecks.
	SeverityWarning Severity = iota + 1
	// SeverityError marks code Redis refuses when it runs (a global
	// variable, a command scripts may not call); the script is refused.
	SeverityError
)

// String returns "warning" or "error".
func (s Severity) String() string {
	if s == SeverityError {
		return "error"
	}
	return "warning"
}

// Finding is one problem the static checks found in a script. Silence a
// finding on one line with a comment "-- redislua:ignore ID" at its end or
// alone on the line before.
type Finding struct {
	// Script is the script's name; File and Line locate the finding, in an
	// included file when that is where it is.
	Script    string
	File      string
	Line, Col int
	// ID is a short stable name such as "global-write" or
	// "key-not-from-KEYS".
	ID       string
	Severity Severity
	// Message says what is wrong and the fix.
	Message string
}

// String formats f as "file:line:col: ID message".
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s %s", f.File, f.Line, f.Col, f.ID, f.Message)
}

// CheckError is a script refused by the static checks: every finding of
// severity error (and, under RegistryOptions.StrictChecks, every warning).
type CheckError struct {
	Script   string
	Findings []Finding
}

// Error lists the findings, one per line.
func (e *CheckError) Error() string {
	lines := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		lines[i] = "redislua: " + f.String()
	}
	return strings.Join(lines, "\n")
}

// Is reports whether target is ErrCheck.
func (e *CheckError) Is(target error) bool { return target == ErrCheck }

// lint runs the static checks on a script's expanded source. It returns the
// warnings to keep, or a *SyntaxError or *CheckError.
func lint(name string, src *luasrc.Source, h luasrc.Header, readOnly bool, cfg config) ([]Finding, error) {
	declared := 0 // undeclared or variadic: no upper bound to check
	if _, max := luasrc.Range(h.Keys); max > 0 {
		declared = max
	}
	return lintWith(name, src, cfg, func(text string) ([]luacheck.Finding, error) {
		return luacheck.Check(text, luacheck.Config{DeclaredKeys: declared, NoWrites: readOnly})
	})
}

// lintWith runs check on a script's or a library's expanded source and
// sorts its findings as lint documents.
func lintWith(name string, src *luasrc.Source, cfg config, check func(string) ([]luacheck.Finding, error)) ([]Finding, error) {
	found, err := check(src.Text)
	if err != nil {
		var se *luacheck.SyntaxError
		if errors.As(err, &se) {
			at := src.Locate(se.Line)
			return nil, &SyntaxError{Script: name, File: at.File, Line: at.Line, Column: se.Col, Message: se.Message}
		}
		at := src.Locate(1)
		return nil, &SyntaxError{Script: name, File: at.File, Message: err.Error()}
	}
	var warnings, fatal []Finding
	for _, f := range found {
		if cfg.ignored[f.ID] {
			continue
		}
		at := src.Locate(f.Line)
		finding := Finding{Script: name, File: at.File, Line: at.Line, Col: f.Col, ID: f.ID, Message: f.Message, Severity: SeverityWarning}
		if f.Severity == luacheck.Error {
			finding.Severity = SeverityError
		}
		if finding.Severity == SeverityError || cfg.strict {
			fatal = append(fatal, finding)
		} else {
			warnings = append(warnings, finding)
		}
	}
	if len(fatal) > 0 {
		return nil, &CheckError{Script: name, Findings: fatal}
	}
	return warnings, nil
}
