package luacheck

import (
	"cmp"
	"slices"
	"sort"
	"strings"
)

// positions recovers columns for syntax-tree nodes, which only know their
// line, by matching them with the tokens of that line. The walker visits
// nodes in source order and each match marks its token used, so the second
// "x" on a line gets the second token "x". Columns are best effort: a
// position that cannot be matched falls back to the first matching token,
// or to 0 for the caller to replace.
type positions struct {
	code []token // tokens without comments, in source order, so by line
	// byText lists the tokens of each line, sorted by text and then by
	// index, as entries: i >= 0 for code[i] under its text, -i-1 for the
	// string code[i] under anyString. The tokens with a given text on a
	// given line are a run of byText. (int32 is enough: Redis refuses a
	// script of more than 512 MB.)
	byText []int32
	// lineStart[l] is the index in byText of the first entry of line l or
	// later; the entries of line l are byText[lineStart[l]:lineStart[l+1]].
	lineStart []int32
	// next holds, at the first entry of each run, how many entries of the
	// run are known to be used.
	next []int32
	used []bool
	// namesAndStrings counts the name and string tokens: about as many
	// syntax-tree nodes will want a column.
	namesAndStrings int
}

// anyString lists every string of a line in byText.
const anyString = "\x00string"

// newPositions indexes code, the tokens of a script without its comments.
func newPositions(code []token) *positions {
	lines, strs := 0, 0
	if len(code) > 0 {
		lines = int(code[len(code)-1].line)
	}
	names := 0
	for _, t := range code {
		switch t.kind {
		case tokString:
			strs++
		case tokName:
			names++
		}
	}
	p := &positions{
		code:      code,
		byText:    make([]int32, 0, len(code)+strs),
		lineStart: make([]int32, lines+2),
		used:      make([]bool, len(code)),

		namesAndStrings: names + strs,
	}
	l := 0
	for i, t := range code {
		for l < int(t.line) {
			l++
			p.lineStart[l] = int32(len(p.byText))
		}
		p.byText = append(p.byText, int32(i))
		if t.kind == tokString {
			p.byText = append(p.byText, int32(-i-1))
		}
	}
	for l++; l < len(p.lineStart); l++ {
		p.lineStart[l] = int32(len(p.byText))
	}
	for l := 1; l+1 < len(p.lineStart); l++ {
		slices.SortFunc(p.byText[p.lineStart[l]:p.lineStart[l+1]], p.compare)
	}
	p.next = make([]int32, len(p.byText))
	return p
}

// key returns the text a byText entry is listed under.
func (p *positions) key(e int32) string {
	if e < 0 {
		return anyString
	}
	return p.code[e].text
}

// index returns the index in code of a byText entry.
func index(e int32) int32 {
	if e < 0 {
		return -e - 1
	}
	return e
}

func (p *positions) compare(a, b int32) int {
	return cmp.Or(strings.Compare(p.key(a), p.key(b)), cmp.Compare(index(a), index(b)))
}

// run returns the bounds in byText of the entries listed under text on
// line; they are empty if there is none.
func (p *positions) run(line int, text string) (lo, hi int) {
	if line < 1 || line+1 >= len(p.lineStart) {
		return 0, 0
	}
	a, b := int(p.lineStart[line]), int(p.lineStart[line+1])
	lo = a + sort.Search(b-a, func(j int) bool { return p.key(p.byText[a+j]) >= text })
	hi = lo
	for hi < b && p.key(p.byText[hi]) == text {
		hi++
	}
	return lo, hi
}

// take returns the column of the first unused token with the given text on
// line for which ok holds, and marks it used. If every such token is used
// already it returns the column of the first one, and 0 if there is none.
func (p *positions) take(line int, text string, ok func(i int) bool) int {
	lo, hi := p.run(line, text)
	list := p.byText[lo:hi]
	if len(list) == 0 {
		return 0
	}
	start := int(p.next[lo])
	for j := start; j < len(list); j++ {
		i := int(index(list[j]))
		if p.used[i] || !ok(i) {
			continue
		}
		p.used[i] = true
		for start < len(list) && p.used[index(list[start])] {
			start++
		}
		p.next[lo] = int32(start)
		return int(p.code[i].col)
	}
	for _, e := range list {
		if i := int(index(e)); ok(i) {
			return int(p.code[i].col)
		}
	}
	return 0
}

func (p *positions) prev(i int) string {
	if i > 0 {
		return p.code[i-1].text
	}
	return ""
}

func (p *positions) after(i int) string {
	if i+1 < len(p.code) {
		return p.code[i+1].text
	}
	return ""
}

func (p *positions) is(i int, kind tokenKind, text string) bool {
	return p.code[i].kind == kind && p.code[i].text == text
}

// name returns the column of a variable name: the identifier not preceded
// by "." or ":".
func (p *positions) name(line int, name string) int {
	return p.take(line, name, func(i int) bool {
		return p.code[i].kind == tokName && p.prev(i) != "." && p.prev(i) != ":"
	})
}

// member returns the column of a field or method name written after "." or
// ":" (a.b, a:b), or 0 if the line has none: then the key was written as
// a["b"].
func (p *positions) member(line int, name string) int {
	return p.take(line, name, func(i int) bool {
		return p.code[i].kind == tokName && (p.prev(i) == "." || p.prev(i) == ":")
	})
}

// field returns the column of a table constructor field name ({name = v}),
// or 0 if the line has none.
func (p *positions) field(line int, name string) int {
	return p.take(line, name, func(i int) bool {
		pr := p.prev(i)
		return p.code[i].kind == tokName && p.after(i) == "=" && (pr == "{" || pr == "," || pr == ";")
	})
}

// str returns the column of the opening quote of a string literal with the
// given value, or of the first string on the line if none matches exactly
// (the token keeps escapes as written).
func (p *positions) str(line int, value string) int {
	isString := func(i int) bool { return p.code[i].kind == tokString }
	if col := p.take(line, value, isString); col > 0 {
		return col
	}
	return p.take(line, anyString, isString)
}

// keyword returns the column of the first keyword or operator kw on line.
func (p *positions) keyword(line int, kw string) int {
	return p.take(line, kw, func(i int) bool { return p.code[i].kind != tokString })
}

// localFunction reports whether line declares "local function name", whose
// name is in scope inside its own body (unlike local name = function).
func (p *positions) localFunction(line int, name string) bool {
	lo, hi := p.run(line, name)
	for _, e := range p.byText[lo:hi] {
		i := int(index(e))
		if e >= 0 && p.code[i].kind == tokName && i >= 2 && p.is(i-1, tokKeyword, "function") && p.is(i-2, tokKeyword, "local") {
			return true
		}
	}
	return false
}

// hasCode reports whether a token other than a comment starts on line.
func (p *positions) hasCode(line int) bool {
	return line >= 1 && line+1 < len(p.lineStart) && p.lineStart[line] < p.lineStart[line+1]
}

// startOfTokenEndingAt returns the start column of the token on line whose
// last byte is at col, as gopher-lua reports syntax errors at the end of the
// offending token; it returns col itself when no token ends there.
func (p *positions) startOfTokenEndingAt(line, col int) int {
	for _, t := range p.code {
		if int(t.endLine) == line && int(t.endCol)-1 == col {
			return int(t.col)
		}
	}
	return col
}
