package luasrc

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Loc is a line of a file.
type Loc struct {
	File string
	Line int
}

// Source is a script's text after @include expansion, with where each of
// its lines came from.
type Source struct {
	// Text is what is sent to Redis.
	Text string
	// Included lists the files inlined, in order, without repeats.
	Included []string

	origin []Loc // origin[i] is where line i+1 of Text came from
}

// Locate returns where line (1-based, of Text) came from. Lines it does
// not know (0, or past the end) map to the script's own file.
func (s *Source) Locate(line int) Loc {
	if line >= 1 && line <= len(s.origin) {
		return s.origin[line-1]
	}
	if len(s.origin) > 0 {
		return Loc{File: s.origin[0].File, Line: line}
	}
	return Loc{Line: line}
}

// IncludeError is an @include that cannot be expanded. Err, when set, is
// the cause: ErrTooLarge, ErrNotRegular, or the fs.FS's error.
type IncludeError struct {
	Loc
	Message string
	// Cycle lists the files of an include cycle, from the script (or the
	// first file of the cycle) to the file included again.
	Cycle []string
	Err   error
}

func (e *IncludeError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
}

// Unwrap returns the cause.
func (e *IncludeError) Unwrap() error { return e.Err }

func cycleError(at Loc, chain []string) *IncludeError {
	return &IncludeError{Loc: at, Message: "include cycle: " + strings.Join(chain, " -> "), Cycle: chain}
}

// Expand inlines every "--- @include "path"" line of src (read from file
// in fsys) with the named file, recursively. Paths are relative to the
// including file's directory; ".lua" is added when the path has no
// extension (BullMQ's convention). A file is inlined once per script: a
// later include of it becomes an empty line. Cycles, missing files and
// files that are not regular are errors naming the include line. Lines end
// as Lua ends them (see splitLines), and the text keeps every line break as
// it was. Expand stops with ErrTooLarge once src and the files it read add
// up to more than limit bytes, reading at most limit+1 bytes in all. fsys
// may be nil when src includes nothing.
func Expand(fsys fs.FS, file, src string, limit int) (*Source, error) {
	e := &expander{fsys: fsys, seen: map[string]bool{}, limit: limit, budget: limit - len(src)}
	if e.budget < 0 {
		return nil, fmt.Errorf("%s is %w: more than %d bytes", file, ErrTooLarge, limit)
	}
	if !strings.Contains(src, "@include") {
		// Nothing to inline: the text is src and line n is line n of file
		// (Locate maps lines past origin to file), without a Loc per line.
		return &Source{Text: src, origin: []Loc{{File: file, Line: 1}}}, nil
	}
	if err := e.expand(file, src, nil); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.Grow(len(src))
	for _, l := range e.lines {
		b.WriteString(l.text)
		b.WriteString(l.end)
	}
	return &Source{Text: b.String(), Included: e.included, origin: e.origin}, nil
}

type expander struct {
	fsys     fs.FS
	seen     map[string]bool
	limit    int
	budget   int // bytes left to read
	lines    []line
	origin   []Loc
	included []string
}

func (e *expander) expand(file, src string, stack []string) error {
	stack = append(stack, file)
	for i, l := range splitLines(src) {
		target, ok, err := IncludeTarget(l.text)
		here := Loc{File: file, Line: i + 1}
		if err != nil {
			return &IncludeError{Loc: here, Message: err.Error()}
		}
		if !ok {
			e.lines = append(e.lines, l)
			e.origin = append(e.origin, here)
			continue
		}
		if e.fsys == nil {
			return &IncludeError{Loc: here, Message: "@include needs the script to be read from an fs.FS (use NewRegistry)"}
		}
		inc := IncludePath(file, target)
		if slices.Contains(stack, inc) {
			return cycleError(here, append(stack, inc))
		}
		if e.seen[inc] {
			e.lines = append(e.lines, line{end: l.end}) // already inlined: keep the line count
			e.origin = append(e.origin, here)
			continue
		}
		data, err := ReadFile(e.fsys, inc, e.budget)
		if errors.Is(err, ErrTooLarge) {
			return &IncludeError{Loc: here, Message: fmt.Sprintf("cannot include %q: the script with its includes is more than %d bytes", target, e.limit), Err: err}
		}
		if err != nil {
			return &IncludeError{Loc: here, Message: fmt.Sprintf("cannot include %q: %v", target, err), Err: err}
		}
		e.budget -= len(data)
		text := string(data)
		if strings.HasPrefix(text, "#!") {
			return &IncludeError{Loc: here, Message: fmt.Sprintf("included file %s has a shebang line; only the script itself may", inc)}
		}
		e.seen[inc] = true
		e.included = append(e.included, inc)
		if err := e.expand(inc, strings.TrimRight(text, "\r\n"), stack); err != nil {
			return err
		}
		// The included text's last line ends as the include line did.
		e.lines[len(e.lines)-1].end = l.end
	}
	return nil
}

// IncludeTarget reads an include directive line: `--- @include "path"`
// (or with "--", or single quotes). ok is false for any other line.
func IncludeTarget(line string) (target string, ok bool, err error) {
	body, found := strings.CutPrefix(strings.TrimSpace(line), "--")
	if !found {
		return "", false, nil
	}
	body = strings.TrimSpace(strings.TrimLeft(body, "-"))
	rest, found := strings.CutPrefix(body, "@include")
	if !found || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
		return "", false, nil
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "'") && strings.HasSuffix(rest, "'") && len(rest) >= 2 {
		rest = `"` + strings.ReplaceAll(rest[1:len(rest)-1], `"`, `\"`) + `"`
	}
	target, uerr := strconv.Unquote(rest)
	if uerr != nil || target == "" {
		return "", false, fmt.Errorf(`malformed @include: want --- @include "relative/path"`)
	}
	if path.IsAbs(target) {
		return "", false, fmt.Errorf("@include path %q must be relative", target)
	}
	return target, true, nil
}

// IncludePath resolves an @include target named in file: relative to
// file's directory, with ".lua" added when the target has no extension.
func IncludePath(file, target string) string {
	inc := path.Join(path.Dir(file), target)
	if path.Ext(inc) == "" {
		inc += ".lua"
	}
	return inc
}
