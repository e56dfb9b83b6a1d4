package redislua

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redislua/redislua/internal/keyspace"
)

// Sentinel errors. Compare with errors.Is: the errors this package returns
// wrap them, often inside a *ScriptError that also names the script and line.
var (
	// ErrNoScript means the server does not have the script cached
	// (NOSCRIPT). Run recovers from it by itself; it surfaces only when
	// mapping a raw error with MapError.
	ErrNoScript = errors.New("redislua: script not in the server's script cache (NOSCRIPT)")
	// ErrBusy means another script runs past busy-reply-threshold
	// (lua-time-limit) and the server refuses other commands (BUSY).
	ErrBusy = errors.New("redislua: server busy running another script (BUSY)")
	// ErrUnknownScript means a registry has no script by that name.
	ErrUnknownScript = errors.New("redislua: unknown script")
	// ErrReadOnly means a read-only script called a write command.
	ErrReadOnly = errors.New("redislua: write command in a read-only script")
	// ErrOOM means the server refused a write because maxmemory is reached.
	ErrOOM = errors.New("redislua: server out of memory (OOM)")
	// ErrNoPerm means an ACL rule refused a command or key.
	ErrNoPerm = errors.New("redislua: no permission (ACL)")
	// ErrSyntax means a script does not compile; see *SyntaxError.
	ErrSyntax = errors.New("redislua: syntax error")
	// ErrNilClient means a nil client was passed where I/O is needed.
	ErrNilClient = errors.New("redislua: nil client")
	// ErrPipeline means a call needs an answer now and cannot be queued in a
	// pipeline or transaction.
	ErrPipeline = errors.New("redislua: cannot run inside a pipeline")
	// ErrEmptyName means a script was given no name.
	ErrEmptyName = errors.New("redislua: empty script name")
	// ErrInvalidName means a script name is not a slash-separated path
	// (it holds "." or ".." elements, or starts or ends with "/"), or holds
	// a control character, a line break, or an element of only white space.
	ErrInvalidName = errors.New("redislua: invalid script name")
	// ErrScriptTooLarge means a script is longer than MaxScriptSize.
	ErrScriptTooLarge = errors.New("redislua: script too large")
	// ErrEmptySource means a script's source is empty or only white space.
	ErrEmptySource = errors.New("redislua: empty script source")
	// ErrDuplicateScript means a registry already has a script by that name.
	ErrDuplicateScript = errors.New("redislua: duplicate script name")
	// ErrEmptyKey means a key passed to a script is the empty string, which
	// is almost always an unset variable.
	ErrEmptyKey = errors.New("redislua: empty key")
	// ErrKeyCount means a call passed a number of keys the script's header
	// ("-- @key") does not declare; see *CountError.
	ErrKeyCount = errors.New("redislua: wrong number of keys")
	// ErrWrongType means a command the script called found a key of
	// another type (WRONGTYPE), such as a hash where a string was expected.
	ErrWrongType = errors.New("redislua: key holds the wrong kind of value (WRONGTYPE)")
	// ErrArgCount means a call passed a number of arguments the script's
	// header ("-- @arg") does not declare; see *CountError.
	ErrArgCount = errors.New("redislua: wrong number of arguments")
)

// CountError is a call with a number of KEYS or ARGV that the script's
// header does not declare, caught before anything was sent. errors.Is
// matches ErrKeyCount or ErrArgCount.
type CountError struct {
	Script string
	// What is "keys" or "args".
	What string
	Got  int
	// Want lists the declared names, as in the header ("from to", or
	// "id [ttl]", or "keys...").
	Want string
	// Min and Max bound the accepted count; Max < 0 means no bound.
	Min, Max int
}

// Error says what the script expected.
func (e *CountError) Error() string {
	if e.Max == 0 {
		return fmt.Sprintf("redislua: script %s takes no %s, got %d", e.Script, e.What, e.Got)
	}
	want := strconv.Itoa(e.Min)
	switch {
	case e.Max < 0:
		want = "at least " + want
	case e.Max != e.Min:
		want += " to " + strconv.Itoa(e.Max)
	}
	return fmt.Sprintf("redislua: script %s takes %s %s (%s), got %d", e.Script, want, e.What, e.Want, e.Got)
}

// Is reports whether target is ErrKeyCount or ErrArgCount, as fits.
func (e *CountError) Is(target error) bool {
	if e.What == "keys" {
		return target == ErrKeyCount
	}
	return target == ErrArgCount
}

// ScriptError is an error raised while a script ran (or was refused), with
// the script and the line it points at. Its message reads like a compiler's:
//
//	redislua: lua/transfer.lua:3: attempted to access nonexistent global variable 'x'
//
// errors.Is matches the sentinel for its kind (ErrOOM, ErrBusy, ErrReadOnly,
// ErrNoPerm, ErrNoScript, ErrCrossSlot, ErrWrongType), and Unwrap returns
// the server's original error.
type ScriptError struct {
	// Script is the script's name (its registry name).
	Script string
	// File is the file Line is in: the script's own file, or an included one.
	File string
	// SHA is the SHA1 of the source sent to Redis.
	SHA string
	// Line is the 1-based line in File; 0 when the server named no line.
	Line int
	// Message is the server's message without Redis's wrapping. For
	// error({err="CODE msg"}) it is "CODE msg".
	Message string

	kind error
	err  error
}

// Error reads "redislua: <file>:<line>: <message>", or
// "redislua: script <name>: <message>" when no line is known.
func (e *ScriptError) Error() string {
	if e.Line > 0 {
		return "redislua: " + e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Message
	}
	return "redislua: script " + e.Script + ": " + e.Message
}

// Unwrap returns the server's original error.
func (e *ScriptError) Unwrap() error { return e.err }

// Is reports whether target is the sentinel for this error's kind.
func (e *ScriptError) Is(target error) bool { return e.kind != nil && target == e.kind }

// SyntaxError is a script that does not compile. NewScript and NewRegistry
// return it when the program starts; Run returns it if the server's Lua
// still refuses a script the local parser accepted. errors.Is(err, ErrSyntax)
// holds.
type SyntaxError struct {
	// Script is the script's name.
	Script string
	// File is the file the error is in.
	File string
	// Line is 1-based; 0 means the end of the script or unknown.
	Line int
	// Column is 1-based; 0 when unknown (Redis does not report it).
	Column int
	// Message says what is wrong.
	Message string

	err error
}

// Error reads "redislua: <file>:<line>:<col>: syntax error: <message>".
func (e *SyntaxError) Error() string {
	pos := e.File
	if e.Line > 0 {
		pos += ":" + strconv.Itoa(e.Line)
		if e.Column > 0 {
			pos += ":" + strconv.Itoa(e.Column)
		}
	}
	msg := e.Message
	if !strings.HasPrefix(msg, "syntax error") {
		msg = "syntax error: " + msg
	}
	return fmt.Sprintf("redislua: %s: %s", pos, msg)
}

// Unwrap returns the server's error when the server reported it, else nil.
func (e *SyntaxError) Unwrap() error { return e.err }

// Is reports whether target is ErrSyntax.
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }

// ErrReservedKey means a key passed to a prebuilt primitive (packages
// lock, ratelimit, transfer and cas) contains "}redislua:", as the keys
// those primitives derive for their own state do
// ("job{job}redislua:fence"). They refuse such keys before sending
// anything, so that no call can write over a lock's fence counter, a
// transfer's ID record or a limiter's state. See docs/keys.md.
var ErrReservedKey = errors.New(`redislua: reserved key name (keys containing "}redislua:" are the library's own)`)

// quoteKey quotes key for an error text (see keyspace.Quote).
func quoteKey(key string) string { return keyspace.Quote(key) }
