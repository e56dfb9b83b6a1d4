package redislua

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode"

	"github.com/redislua/redislua/internal/luasrc"
)

// Script is one Lua script, read, checked and hashed once. It is immutable
// and safe for concurrent use; build it once (at package level or through a
// Registry) and run it many times.
type Script struct {
	name     string
	file     string
	src      *luasrc.Source // after @include expansion
	sha      string
	flags    []string
	readOnly bool
	header   luasrc.Header
	warnings []Finding

	// Declared counts of KEYS and ARGV (max < 0: no upper bound); checked
	// by Run when the header declares them.
	keyMin, keyMax, argMin, argMax int

	// checkSlots makes Run check keys' slots on every client, not only on
	// a cluster client; crossSlotOK (the allow-cross-slot-keys flag) turns
	// the check off.
	checkSlots, crossSlotOK bool

	// The SHA1 and source boxed once, as command arguments; shaRefArg is
	// the SHA1 as the pipeline hook writes it (see scriptSHA), rawBodyArg
	// the source as Run sends it through an AutoPipeliner (see rawBody).
	shaArg, bodyArg, shaRefArg, rawBodyArg any
}

// MaxScriptSize is the largest script source, after @include expansion,
// that NewScript and NewRegistry accept: 256 KiB, several times the
// largest scripts we know (tens of KB), and small enough that checking any
// source of that size, however hostile, stays cheap at start-up (see
// BENCHMARKS.md). Run a larger script with go-redis's own Script.
const MaxScriptSize = 256 << 10

// Param is a KEYS or ARGV entry declared in a script's header with
// "-- @key name  description" or "-- @arg name  description". A name in
// brackets ("[ttl]") is Optional; a name ending in "..." is Variadic.
type Param struct {
	Name        string
	Description string
	Optional    bool
	Variadic    bool
}

// NewScript reads src as a Lua script named name. The source must compile:
// a syntax error is returned now, as a *SyntaxError, rather than by the
// server on the first call, and it must pass the static checks (see
// Finding): code Redis would refuse at run time, such as a global variable,
// is a *CheckError now. A Redis 7 shebang first line
// ("#!lua flags=no-writes") is checked as Redis checks it. A script is
// read-only when its shebang has the no-writes flag or, for servers that
// reject a shebang (miniredis), when its leading comment has a
// "-- @readonly" line. Header lines "-- @key" and "-- @arg" declare the
// KEYS and ARGV that Run then checks; header lines end where Lua ends a
// line ("\n", "\r", "\r\n", "\n\r"), so errors and headers agree with
// Redis on line numbers. @include needs a Registry. The name is refused
// with ErrInvalidName unless it is a slash-separated path (as fs.ValidPath
// says) free of control characters, line breaks and elements of only white
// space.
func NewScript(name, src string) (*Script, error) {
	return newScript(name, name, src, config{}, nil)
}

// MustNewScript is like NewScript but panics on error. Use it only for
// package-level variables built from constant source.
func MustNewScript(name, src string) *Script {
	s, err := NewScript(name, src)
	if err != nil {
		panic(err)
	}
	return s
}

// checkName refuses a name that is not a slash-separated path, or that
// would print badly or not at all: a control character (NUL, a line break,
// an escape), a line or paragraph separator, a bidirectional-text control,
// or a path element of nothing but white space.
func checkName(name string) error {
	if !fs.ValidPath(name) || name == "." {
		return fmt.Errorf(`%w: %q: use a slash-separated path without ".", ".." or a leading "/"`, ErrInvalidName, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control) {
			return fmt.Errorf("%w: %q: holds the control character %U", ErrInvalidName, name, r)
		}
	}
	for _, elem := range strings.Split(name, "/") {
		if strings.TrimSpace(elem) == "" {
			return fmt.Errorf("%w: %q: a name or path element of only white space", ErrInvalidName, name)
		}
	}
	return nil
}

// newScript builds a script whose errors name file (a path in fsys, or the
// name itself), configured by a registry's cfg. Includes are read from
// fsys, which may be nil.
func newScript(name, file, text string, cfg config, fsys fs.FS) (*Script, error) {
	if name == "" {
		return nil, ErrEmptyName
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%w: %s", ErrEmptySource, file)
	}
	if len(text) > MaxScriptSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrScriptTooLarge, file, len(text), MaxScriptSize)
	}
	syntaxErr := func(at luasrc.Loc, col int, msg string) error {
		return &SyntaxError{Script: name, File: at.File, Line: at.Line, Column: col, Message: msg}
	}
	top := luasrc.Loc{File: file, Line: 1}
	shebang, err := luasrc.ParseShebang(text)
	if err != nil {
		return nil, syntaxErr(top, 1, err.Error())
	}
	header, err := luasrc.ParseHeader(text)
	if err != nil {
		var he *luasrc.HeaderError
		if errors.As(err, &he) {
			return nil, syntaxErr(luasrc.Loc{File: file, Line: he.Line}, 0, "header: "+he.Message)
		}
		return nil, syntaxErr(top, 0, err.Error())
	}
	if header.ReadOnly && shebang.Present && !shebang.Has(luasrc.FlagNoWrites) {
		return nil, syntaxErr(top, 1, `"-- @readonly" needs "flags=no-writes" in the shebang: Redis refuses EVAL_RO of a script whose shebang lacks it`)
	}
	src, err := luasrc.Expand(fsys, file, text, MaxScriptSize)
	if err != nil {
		var ie *luasrc.IncludeError
		switch {
		case errors.Is(err, luasrc.ErrTooLarge):
			return nil, fmt.Errorf("%w: %v", ErrScriptTooLarge, err)
		case errors.As(err, &ie):
			return nil, syntaxErr(ie.Loc, 0, ie.Message)
		}
		return nil, syntaxErr(top, 0, err.Error())
	}
	readOnly := shebang.Has(luasrc.FlagNoWrites) || header.ReadOnly
	warnings, err := lint(name, src, header, readOnly, cfg)
	if err != nil {
		return nil, err
	}
	sha := sha1Hex(src.Text)
	s := &Script{
		name:     name,
		file:     file,
		src:      src,
		sha:      sha,
		flags:    shebang.Flags,
		readOnly: readOnly,
		header:   header,
		warnings: warnings,
		keyMin:   0, keyMax: -1, argMin: 0, argMax: -1,

		checkSlots:  cfg.clusterChecks,
		crossSlotOK: shebang.Has(luasrc.FlagAllowCrossSlotKeys),

		shaArg: sha,
	}
	body := &scriptBody{script: s, text: []byte(src.Text)}
	s.bodyArg, s.rawBodyArg = body, &rawBody{body}
	s.shaRefArg = &scriptSHA{script: s, sha: []byte(sha)}
	if header.Declared() {
		s.keyMin, s.keyMax = luasrc.Range(header.Keys)
		s.argMin, s.argMax = luasrc.Range(header.Args)
	}
	return s, nil
}

// Name returns the script's name.
func (s *Script) Name() string { return s.name }

// File returns the file the script was read from (its name for scripts
// built with NewScript); errors name it.
func (s *Script) File() string { return s.file }

// SHA returns the lower-case hex SHA1 of the exact source sent to Redis
// (after @include expansion), the digest SCRIPT LOAD returns.
func (s *Script) SHA() string { return s.sha }

// Source returns the exact source sent to Redis, after @include expansion.
func (s *Script) Source() string { return s.src.Text }

// Includes returns the files inlined by @include, in order.
func (s *Script) Includes() []string { return append([]string(nil), s.src.Included...) }

// Flags returns the flags of the script's Redis 7 shebang line, in order;
// nil when there is none.
func (s *Script) Flags() []string {
	if s.flags == nil {
		return nil
	}
	return append([]string(nil), s.flags...)
}

// ReadOnly reports whether the script only reads, and so runs with
// EVALSHA_RO / EVAL_RO (which replicas accept).
func (s *Script) ReadOnly() bool { return s.readOnly }

// Keys returns the KEYS the header declares ("-- @key"), nil if none.
func (s *Script) Keys() []Param { return params(s.header.Keys) }

// Args returns the ARGV the header declares ("-- @arg"), nil if none.
func (s *Script) Args() []Param { return params(s.header.Args) }

// Description returns the header's free text.
func (s *Script) Description() string { return s.header.Description }

// Returns describes the return value ("-- @return").
func (s *Script) Returns() string { return s.header.Return }

// Warnings returns what the static checks found that does not stop the
// script from loading (see Finding).
func (s *Script) Warnings() []Finding { return append([]Finding(nil), s.warnings...) }

// String returns the script's name and short SHA, for logs.
func (s *Script) String() string { return s.name + "@" + s.sha[:7] }

func params(in []luasrc.Param) []Param {
	if len(in) == 0 {
		return nil
	}
	out := make([]Param, len(in))
	for i, p := range in {
		out[i] = Param{Name: p.Name, Description: p.Description, Optional: p.Optional, Variadic: p.Variadic}
	}
	return out
}

// sha1Hex returns the SHA1 of s in lower-case hex, as Redis names scripts.
func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
