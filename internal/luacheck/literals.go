package luacheck

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Lua 5.1 reads a number with the C library's strtod, which on glibc (as
// Redis is built on Linux) also reads hexadecimal floats such as 0x1p4
// (16). gopher-lua does not, so these literals are replaced, for gopher-lua
// only, by a decimal literal of the same value (or magnitude) padded with
// spaces to the same length: lines and columns hold.

// forGopherLua returns src as gopher-lua should parse it.
func forGopherLua(src string, code []token) string {
	var b []byte
	lines := &scanner{src: src, line: 1} // finds line starts, moving forward only
	for _, t := range code {
		if t.kind != tokNumber || !isHexFloat(t.text) {
			continue
		}
		if b == nil {
			b = []byte(src)
		}
		for lines.line < int(t.line) && lines.i < len(src) {
			if c := src[lines.i]; c == '\n' || c == '\r' {
				lines.newline()
			} else {
				lines.i++
			}
		}
		start := lines.lineStart + int(t.col) - 1
		copy(b[start:start+len(t.text)], decimalFor(t.text))
	}
	if b == nil {
		return src
	}
	return string(b)
}

// isHexFloat reports whether s is a hexadecimal literal with a binary
// exponent that strtod reads whole: 0x, hex digits, p, decimal digits. (A
// sign after p ends Lua's number token, so it cannot occur.)
func isHexFloat(s string) bool {
	if len(s) < 5 || s[0] != '0' || s[1]|0x20 != 'x' {
		return false
	}
	p := strings.IndexAny(s, "pP")
	if p < 3 {
		return false
	}
	for _, c := range []byte(s[2:p]) {
		if !isDigit(c) && !('a' <= c|0x20 && c|0x20 <= 'f') {
			return false
		}
	}
	for _, c := range []byte(s[p+1:]) {
		if !isDigit(c) {
			return false
		}
	}
	return p+1 < len(s)
}

// decimalFor returns a decimal literal no longer than the hexadecimal
// float s, padded with spaces to its length: exact when it fits, else of
// the same magnitude.
func decimalFor(s string) string {
	v, _ := strconv.ParseFloat(s, 64) // ±Inf on overflow, as strtod
	text := "1e999"
	if !math.IsInf(v, 0) {
		text = strconv.FormatFloat(v, 'g', -1, 64)
		if len(text) > len(s) {
			text = strconv.FormatFloat(v, 'e', 0, 64)
		}
	}
	if len(text) > len(s) {
		text = "0"
	}
	return text + strings.Repeat(" ", len(s)-len(text))
}

// checkEscapes returns the first string with a decimal escape above 255,
// which Lua 5.1 refuses ("escape sequence too large"), as a *SyntaxError.
func checkEscapes(code []token) *SyntaxError {
	for _, t := range code {
		if t.kind != tokString || t.long || !strings.Contains(t.text, `\`) {
			continue
		}
		for i := 0; i < len(t.text); i++ {
			if t.text[i] != '\\' || i+1 == len(t.text) {
				continue
			}
			i++
			n, j := 0, i
			for j < len(t.text) && j < i+3 && isDigit(t.text[j]) {
				n = n*10 + int(t.text[j]-'0')
				j++
			}
			if j > i && n > 255 {
				return &SyntaxError{Line: int(t.line), Col: int(t.col), Message: fmt.Sprintf(
					`escape sequence too large: \%s is above \255; write the byte as \ddd with ddd at most 255`, t.text[i:j])}
			}
		}
	}
	return nil
}

// checkNumbers returns the first numeric literal that Lua 5.1 cannot read,
// such as 0then (Lua reads digits and letters together, then converts
// them; gopher-lua stops at the letter), as a *SyntaxError.
func checkNumbers(code []token) *SyntaxError {
	for _, t := range code {
		if t.kind == tokNumber && !isLuaNumber(t.text) {
			return &SyntaxError{Line: int(t.line), Col: int(t.col), Message: fmt.Sprintf(
				"malformed number near '%s'; separate the number from the word after it", t.text)}
		}
	}
	return nil
}

// isLuaNumber reports whether strtod or strtoul read all of s: a decimal
// number with an optional fraction and exponent, a hexadecimal integer,
// or a hexadecimal float.
func isLuaNumber(s string) bool {
	if len(s) > 2 && s[0] == '0' && s[1]|0x20 == 'x' {
		for _, c := range []byte(s[2:]) {
			if !isDigit(c) && !('a' <= c|0x20 && c|0x20 <= 'f') {
				return isHexFloat(s)
			}
		}
		return true
	}
	i, digits := 0, 0
	for i < len(s) && isDigit(s[i]) {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && s[i]|0x20 == 'e' {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && isDigit(s[i]) {
			i, exp = i+1, exp+1
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}
