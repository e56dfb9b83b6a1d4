package luasrc

import "strings"

// Header is what a script's leading comment block declares. The block is
// the run of lines starting with "--" at the top of the file (after the
// shebang line, if any); directives are lines of the form "-- @name ...".
type Header struct {
	// ReadOnly is set by a "-- @readonly" line: the script only reads, so it
	// runs with EVALSHA_RO / EVAL_RO. This is the way to declare a read-only
	// script that also runs on servers that reject a shebang (miniredis).
	ReadOnly bool
}

// ParseHeader reads the leading comment block of src.
func ParseHeader(src string) Header {
	var h Header
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if i == 0 && strings.HasPrefix(line, "#!") {
			continue
		}
		body, ok := strings.CutPrefix(line, "--")
		if !ok {
			if line == "" {
				continue
			}
			break
		}
		name, _, _ := strings.Cut(strings.TrimSpace(strings.TrimLeft(body, "-")), " ")
		if name == "@readonly" {
			h.ReadOnly = true
		}
	}
	return h
}
