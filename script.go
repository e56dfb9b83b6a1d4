package redislua

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/redislua/redislua/internal/luasrc"
)

// Script is one Lua script, read, checked and hashed once. It is immutable
// and safe for concurrent use; build it once (at package level or through a
// Registry) and run it many times.
type Script struct {
	name     string
	file     string
	src      string
	sha      string
	flags    []string
	readOnly bool

	// checkSlots makes Run check keys' slots on every client, not only on
	// a cluster client; crossSlotOK (the allow-cross-slot-keys flag) turns
	// the check off.
	checkSlots, crossSlotOK bool

	// The SHA1 and source boxed once, as command arguments.
	shaArg, srcArg any
}

// NewScript reads src as a Lua script named name. The source must compile:
// a syntax error is returned now, as a *SyntaxError, rather than by the
// server on the first call. A Redis 7 shebang first line
// ("#!lua flags=no-writes") is checked as Redis checks it. A script is
// read-only when its shebang has the no-writes flag or, for servers that
// reject a shebang (miniredis), when its leading comment has a
// "-- @readonly" line.
func NewScript(name, src string) (*Script, error) {
	return newScript(name, name, src, config{})
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

// newScript builds a script whose errors name file (a path in an fs.FS, or
// the name itself), configured by a registry's cfg.
func newScript(name, file, src string, cfg config) (*Script, error) {
	if name == "" {
		return nil, ErrEmptyName
	}
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("%w: %s", ErrEmptySource, file)
	}
	syntaxErr := func(line, col int, msg string) error {
		return &SyntaxError{Script: name, File: file, Line: line, Column: col, Message: msg}
	}
	shebang, err := luasrc.ParseShebang(src)
	if err != nil {
		return nil, syntaxErr(1, 1, err.Error())
	}
	header := luasrc.ParseHeader(src)
	if header.ReadOnly && shebang.Present && !shebang.Has(luasrc.FlagNoWrites) {
		return nil, syntaxErr(1, 1, `"-- @readonly" needs "flags=no-writes" in the shebang: Redis refuses EVAL_RO of a script whose shebang lacks it`)
	}
	if _, err := luasrc.Parse(src); err != nil {
		var se *luasrc.SyntaxError
		if errors.As(err, &se) {
			return nil, syntaxErr(se.Line, se.Column, se.Message)
		}
		return nil, syntaxErr(0, 0, err.Error())
	}
	sum := sha1.Sum([]byte(src))
	sha := hex.EncodeToString(sum[:])
	return &Script{
		name:     name,
		file:     file,
		src:      src,
		sha:      sha,
		flags:    shebang.Flags,
		readOnly: shebang.Has(luasrc.FlagNoWrites) || header.ReadOnly,
		shaArg:   sha,
		srcArg:   src,

		checkSlots:  cfg.clusterChecks,
		crossSlotOK: shebang.Has(luasrc.FlagAllowCrossSlotKeys),
	}, nil
}

// Name returns the script's name.
func (s *Script) Name() string { return s.name }

// File returns the file the script was read from (its name for scripts
// built with NewScript); errors name it.
func (s *Script) File() string { return s.file }

// SHA returns the lower-case hex SHA1 of the exact source sent to Redis, the
// digest SCRIPT LOAD returns.
func (s *Script) SHA() string { return s.sha }

// Source returns the exact source sent to Redis.
func (s *Script) Source() string { return s.src }

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

// String returns the script's name and short SHA, for logs.
func (s *Script) String() string { return s.name + "@" + s.sha[:7] }
