package luasrc

import (
	"fmt"
	"strings"
)

// IsFunctionLibrary reports whether src is a Redis Functions library: its
// first line is a shebang with a "name=" option ("#!lua name=mylib"). Such
// a file is loaded with FUNCTION LOAD, never run with EVAL (which refuses
// "name=").
func IsFunctionLibrary(src string) bool {
	if !strings.HasPrefix(src, "#!") {
		return false
	}
	line, _, _ := strings.Cut(src, "\n")
	words, _ := splitArgs(line)
	for _, w := range words[min(1, len(words)):] {
		if strings.HasPrefix(w, "name=") {
			return true
		}
	}
	return false
}

// ParseFunctionShebang reads the library name from the first line of a
// Redis Functions library, with the rules of Redis 7.0's
// functionExtractLibMetaData: the line must end with "\n", the engine must
// be "lua", every option must be "name=", and the name must be letters,
// digits and underscores. Errors use Redis's own words.
func ParseFunctionShebang(src string) (name string, err error) {
	if !strings.HasPrefix(src, "#!") {
		return "", &ShebangError{Message: "Missing library metadata"}
	}
	end := strings.IndexAny(src, "\n\x00")
	if end < 0 || src[end] != '\n' {
		return "", &ShebangError{Message: "Invalid library metadata: the #! line must end with a line break"}
	}
	parts, ok := splitArgs(src[:end])
	if !ok || len(parts) == 0 {
		return "", &ShebangError{Message: fmt.Sprintf("Invalid library metadata: %q has unbalanced quotes", src[:end])}
	}
	if parts[0] != "#!lua" {
		return "", &ShebangError{Message: fmt.Sprintf("Engine '%s' not found (want \"#!lua\")", strings.TrimPrefix(parts[0], "#!"))}
	}
	named := false
	for _, opt := range parts[1:] {
		value, ok := strings.CutPrefix(opt, "name=")
		if !ok {
			return "", &ShebangError{Message: fmt.Sprintf("Invalid metadata value given: %s (a library's first line takes only \"name=\"; flags go to each function)", opt)}
		}
		if named {
			return "", &ShebangError{Message: "Invalid metadata value, name argument was given multiple times"}
		}
		name, named = value, true
	}
	if !named {
		return "", &ShebangError{Message: "Library name was not given"}
	}
	if !ValidFunctionName(name) {
		return "", &ShebangError{Message: fmt.Sprintf("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long: %q", name)}
	}
	return name, nil
}

// ValidFunctionName reports whether Redis accepts name as a library or
// function name: one or more ASCII letters, digits or underscores.
func ValidFunctionName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
