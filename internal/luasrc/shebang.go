package luasrc

import (
	"fmt"
	"strconv"
	"strings"
)

// Flags Redis 7 accepts in a script's shebang line.
var knownFlags = map[string]bool{
	"no-writes":             true,
	"allow-oom":             true,
	"allow-stale":           true,
	"no-cluster":            true,
	"allow-cross-slot-keys": true,
}

// Shebang flags the library acts on.
const (
	// FlagNoWrites makes a script read-only.
	FlagNoWrites = "no-writes"
	// FlagAllowCrossSlotKeys lets a script use keys of several slots that
	// live on one node.
	FlagAllowCrossSlotKeys = "allow-cross-slot-keys"
)

// Shebang is what the first line of a script says to Redis 7.
type Shebang struct {
	// Present reports whether the script starts with "#!".
	Present bool
	// Flags are the flags named by "flags=", in order, without duplicates.
	Flags []string
}

// Has reports whether the shebang names flag.
func (s Shebang) Has(flag string) bool {
	for _, f := range s.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// ShebangError is a first line that Redis 7 would refuse. Its message uses
// Redis's own words.
type ShebangError struct {
	Message string
}

func (e *ShebangError) Error() string { return e.Message }

// ParseShebang reads a Redis 7 shebang ("#!lua flags=no-writes,allow-stale")
// from the first line of src, with the rules of Redis 7.0's
// evalExtractShebangFlags: the line must end with "\n"; it is split into
// words as redis-cli splits a command line (quotes and escapes included);
// the engine must be "lua", every option must be "flags=", and every flag
// must be one Redis knows.
func ParseShebang(src string) (Shebang, error) {
	if !strings.HasPrefix(src, "#!") {
		return Shebang{}, nil
	}
	// Redis looks for the line break with strchr, which stops at a NUL.
	end := strings.IndexAny(src, "\n\x00")
	if end < 0 || src[end] != '\n' {
		return Shebang{}, &ShebangError{Message: "invalid script shebang: the #! line must end with a line break (Redis refuses a script of one shebang line)"}
	}
	parts, ok := splitArgs(src[:end])
	if !ok || len(parts) == 0 {
		return Shebang{}, &ShebangError{Message: fmt.Sprintf("invalid engine in script shebang: %q has unbalanced quotes", src[:end])}
	}
	if parts[0] != "#!lua" {
		return Shebang{}, &ShebangError{Message: fmt.Sprintf("unexpected engine in script shebang: %q (want \"#!lua\")", parts[0])}
	}
	sb := Shebang{Present: true}
	for _, opt := range parts[1:] {
		value, ok := strings.CutPrefix(opt, "flags=")
		if !ok {
			return Shebang{}, &ShebangError{Message: fmt.Sprintf("unknown lua shebang option: %q (only \"flags=\" is allowed)", opt)}
		}
		if value == "" {
			continue
		}
		for _, flag := range strings.Split(value, ",") {
			if !knownFlags[flag] {
				return Shebang{}, &ShebangError{Message: fmt.Sprintf("unexpected flag in script shebang: %q (known: allow-cross-slot-keys, allow-oom, allow-stale, no-cluster, no-writes)", flag)}
			}
			if !sb.Has(flag) {
				sb.Flags = append(sb.Flags, flag)
			}
		}
	}
	return sb, nil
}

// splitArgs splits line into words as Redis's sdssplitargs does: words are
// separated by blanks; a double-quoted part takes \n, \r, \t, \b, \a,
// \xHH and \c escapes, a single-quoted part only \'; a closing quote must
// end its word. ok is false for unbalanced quotes. A NUL ends the line,
// as in C.
func splitArgs(line string) (words []string, ok bool) {
	if i := strings.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	isSpace := func(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return words, true
		}
		var w []byte
		for done := false; !done; {
			switch {
			case i == len(line), line[i] == ' ', line[i] == '\n', line[i] == '\r', line[i] == '\t':
				done = true
			case line[i] == '"':
				var closed bool
				if w, i, closed = doubleQuoted(line, i+1, w); !closed {
					return nil, false
				}
				done = true
			case line[i] == '\'':
				var closed bool
				if w, i, closed = singleQuoted(line, i+1, w); !closed {
					return nil, false
				}
				done = true
			default:
				w = append(w, line[i])
			}
			if i < len(line) {
				i++
			}
		}
		words = append(words, string(w))
	}
}

// doubleQuoted reads a double-quoted part from line[i:], after the opening
// quote, appending it to w. It returns the index of the closing quote, and
// false if there is none or if it does not end the word.
func doubleQuoted(line string, i int, w []byte) ([]byte, int, bool) {
	isHex := func(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f' }
	for ; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
			b, _ := strconv.ParseUint(line[i+2:i+4], 16, 8)
			w = append(w, byte(b))
			i += 3
		case c == '\\' && i+1 < len(line):
			i++
			c = line[i]
			switch c {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'a':
				c = '\a'
			}
			w = append(w, c)
		case c == '"':
			return w, i, i+1 == len(line) || strings.IndexByte(" \t\n\v\f\r", line[i+1]) >= 0
		default:
			w = append(w, c)
		}
	}
	return w, i, false
}

// singleQuoted is doubleQuoted for a single-quoted part.
func singleQuoted(line string, i int, w []byte) ([]byte, int, bool) {
	for ; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
			w = append(w, '\'')
			i++
		case c == '\'':
			return w, i, i+1 == len(line) || strings.IndexByte(" \t\n\v\f\r", line[i+1]) >= 0
		default:
			w = append(w, c)
		}
	}
	return w, i, false
}
