package luasrc

import (
	"fmt"
	"slices"
	"strings"
)

// Header is what a script's leading comment block declares. The block is
// the run of lines starting with "--" at the top of the file (after the
// shebang line, if any; blank lines are allowed in it). Lines of the form
// "-- @name ..." are directives; other comment lines before the first
// directive form the description:
//
//	-- Moves an amount between two integer balances.
//	-- @key from     balance to debit
//	-- @key to       balance to credit
//	-- @arg amount   positive integer
//	-- @arg [id]     optional transfer ID
//	-- @return the new balance of from
//	-- @readonly
//
// A parameter name in brackets is optional; a name ending in "..." takes
// any number of values (at least the ones before it are required). An
// indented comment line after a directive continues its description.
//
// An @arg may name its type after the name, and @return before its
// description; generated Go wrappers use them (see ArgTypes, ReturnTypes):
//
//	-- @arg amount int64  positive integer
//	-- @arg ids... string  one or more IDs
//	-- @return int64  the new balance of from
//	-- @return json Balance  the balances, as cjson.encode writes them
//
// A word that is not a type name starts the description, as before.
type Header struct {
	// Description is the free text before the first directive.
	Description string
	// Keys and Args are the declared KEYS and ARGV, in order. Declared is
	// false when the header declares neither: such scripts are not checked.
	Keys, Args []Param
	// Return describes the return value.
	Return string
	// ReturnType is the declared type of the return value (one of
	// ReturnTypes), or "" when undeclared. For "json", ReturnGoType is the
	// Go type named after it, into which the reply decodes.
	ReturnType, ReturnGoType string
	// ReadOnly is set by "-- @readonly": the script only reads, so it runs
	// with EVALSHA_RO / EVAL_RO. This is the way to declare a read-only
	// script that also runs on servers that reject a shebang (miniredis).
	ReadOnly bool
}

// Param is one declared KEYS or ARGV entry.
type Param struct {
	Name        string
	Description string
	// Optional is set by a bracketed name: "[ttl]".
	Optional bool
	// Variadic is set by a name ending in "...": "keys...".
	Variadic bool
	// Type is the declared type of an @arg (one of ArgTypes; of each value
	// when Variadic), or "" when undeclared.
	Type string
}

// ArgTypes are the types an @arg may declare.
var ArgTypes = []string{"string", "int64", "float64", "bool", "[]byte"}

// ReturnTypes are the types @return may declare; "json" is followed by a
// Go type name.
var ReturnTypes = []string{"string", "int64", "float64", "bool", "[]byte", "[]string", "json"}

// typeWord splits a leading type name off text, if text starts with one
// of types.
func typeWord(text string, types []string) (typ, rest string) {
	word, rest, _ := strings.Cut(text, " ")
	for _, t := range types {
		if word == t {
			return t, strings.TrimSpace(rest)
		}
	}
	return "", text
}

// Declared reports whether the header declares KEYS or ARGV.
func (h Header) Declared() bool { return len(h.Keys) > 0 || len(h.Args) > 0 }

// Range returns how many values params accept: at least min, at most max
// (max < 0: no upper bound).
func Range(params []Param) (min, max int) {
	for _, p := range params {
		switch {
		case p.Variadic:
			return min, -1
		case !p.Optional:
			min++
		}
		max++
	}
	return min, max
}

// HeaderError is a malformed directive.
type HeaderError struct {
	Line    int
	Message string
}

func (e *HeaderError) Error() string { return fmt.Sprintf("%d: %s", e.Line, e.Message) }

// ParseHeader reads the leading comment block of src. Lines end as Lua
// ends them: "\n", "\r", "\r\n" or "\n\r".
func ParseHeader(src string) (Header, error) {
	var (
		h           Header
		description []string
		directives  bool
		continued   *string             // what an indented comment line continues
		names       = map[string]bool{} // "@key name", "@arg name" declared
	)
	for i, l := range eachLine(src) {
		line := strings.TrimSpace(l.text)
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
		if strings.HasPrefix(body, "[") { // a --[[ block comment ]] ends the header
			break
		}
		body = strings.TrimLeft(body, "-")
		indented := strings.HasPrefix(body, "  ") || strings.HasPrefix(body, "\t")
		body = strings.TrimSpace(body)
		if !strings.HasPrefix(body, "@") {
			switch {
			case body == "":
				continued = nil
			case !directives:
				description = append(description, body)
			case indented && continued != nil:
				*continued = strings.TrimSpace(*continued + " " + body)
			}
			continue
		}
		directives = true
		target, err := h.apply(body, names)
		if err != nil {
			return Header{}, &HeaderError{Line: i + 1, Message: err.Error()}
		}
		continued = target
	}
	h.Description = strings.Join(description, " ")
	return h, nil
}

// apply reads one directive ("@key from  balance to debit") and returns
// the text that indented lines after it continue, if any. names holds the
// parameters declared so far, as "@key name" and "@arg name".
func (h *Header) apply(directive string, names map[string]bool) (*string, error) {
	name, rest, _ := strings.Cut(directive, " ")
	rest = strings.TrimSpace(rest)
	switch name {
	case "@readonly":
		h.ReadOnly = true
	case "@return":
		h.ReturnType, rest = typeWord(rest, ReturnTypes)
		if h.ReturnType == "json" {
			h.ReturnGoType, rest, _ = strings.Cut(rest, " ")
			if h.ReturnGoType == "" {
				return nil, fmt.Errorf("@return json: missing the Go type to decode into")
			}
		}
		h.Return = strings.TrimSpace(rest)
		return &h.Return, nil
	case "@key":
		p, err := parseParam(rest, h.Keys, names, name)
		if err != nil {
			return nil, fmt.Errorf("@key: %w", err)
		}
		h.Keys = append(h.Keys, p)
		return &h.Keys[len(h.Keys)-1].Description, nil
	case "@arg":
		p, err := parseParam(rest, h.Args, names, name)
		if err != nil {
			return nil, fmt.Errorf("@arg: %w", err)
		}
		if t, _ := typeWord(p.Description, ReturnTypes); t != "" && !slices.Contains(ArgTypes, t) {
			return nil, fmt.Errorf("@arg %s: type %s is for @return only (an @arg takes one of %s)", p.Name, t, strings.Join(ArgTypes, ", "))
		}
		p.Type, p.Description = typeWord(p.Description, ArgTypes)
		h.Args = append(h.Args, p)
		return &h.Args[len(h.Args)-1].Description, nil
	case "@include":
		// Expanded by Expand; nothing to declare.
	default:
		return nil, fmt.Errorf("unknown directive %s (known: @key, @arg, @return, @readonly, @include)", name)
	}
	return nil, nil
}

// parseParam reads "name  description", "[name] description" or
// "name... description", checking it may follow before, whose names are in
// names under kind ("@key", "@arg"); it adds its own there. Only the last
// of before needs looking at: nothing follows a variadic parameter and
// nothing required follows an optional one, so the last is variadic or
// optional if any is. (A header may declare 100k parameters: this keeps
// reading it linear.)
func parseParam(text string, before []Param, names map[string]bool, kind string) (Param, error) {
	name, desc, _ := strings.Cut(text, " ")
	p := Param{Description: strings.TrimSpace(desc)}
	if inner, ok := strings.CutPrefix(name, "["); ok {
		name, ok = strings.CutSuffix(inner, "]")
		if !ok {
			return Param{}, fmt.Errorf("%q: unclosed [", text)
		}
		p.Optional = true
	}
	if base, ok := strings.CutSuffix(name, "..."); ok {
		name, p.Variadic = base, true
	}
	p.Name = name
	if name == "" {
		return Param{}, fmt.Errorf("missing name")
	}
	if len(before) > 0 {
		switch b := before[len(before)-1]; {
		case b.Variadic:
			return Param{}, fmt.Errorf("%s after variadic %s...", name, b.Name)
		case b.Optional && !p.Optional && !p.Variadic:
			return Param{}, fmt.Errorf("required %s after optional [%s]", name, b.Name)
		}
	}
	if names[kind+" "+name] {
		return Param{}, fmt.Errorf("%s declared twice", name)
	}
	names[kind+" "+name] = true
	return p, nil
}
