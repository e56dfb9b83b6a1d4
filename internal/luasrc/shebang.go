package luasrc

import (
	"fmt"
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
// from the first line of src, with the rules of Redis's
// evalExtractShebangFlags: the engine must be "lua", every option must be
// "flags=", and every flag must be one Redis knows.
func ParseShebang(src string) (Shebang, error) {
	if !strings.HasPrefix(src, "#!") {
		return Shebang{}, nil
	}
	line, _, _ := strings.Cut(src, "\n")
	parts := strings.Fields(line)
	if len(parts) == 0 || parts[0] != "#!lua" {
		return Shebang{}, &ShebangError{Message: fmt.Sprintf("unexpected engine in script shebang: %q (want \"#!lua\")", strings.TrimSpace(line))}
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
