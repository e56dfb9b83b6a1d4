package luacheck

import (
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
//
// A lookup costs O(log n) in the tokens of its line plus amortised O(1), so
// that a script written on one line costs no more than on many.
type positions struct {
	code []token // tokens without comments, in source order, so by line
	// byText lists the tokens of each line, sorted by text and then by
	// index, as entries: i >= 0 for code[i] under its text, -i-1 for the
	// string code[i] under anyString. The tokens with a given text on a
	// given line are a run of byText. (int32 is enough: Redis refuses a
	// script of more than 512 MB.)
	byText []int32
	// lineNo lists the lines where a token starts, in order; the entries
	// of line lineNo[k] are byText[lineStart[k]:lineStart[k+1]]. (Lines
	// without tokens take no room: a script of newlines costs nothing.)
	lineNo, lineStart []int32
	used              []bool
	// long holds the lookup state of the runs longer than shortRun, by the
	// index of their first entry; shorter runs are scanned from the start.
	long map[int32]*runState
	// steps counts the entries lookups looked at, for tests that bound
	// the work.
	steps int
	// last is the run found last: lookups often repeat a name.
	last lastRun
	// namesAndStrings counts the name and string tokens: about as many
	// syntax-tree nodes will want a column.
	namesAndStrings int
}

type lastRun struct {
	line   int
	text   string
	lo, hi int
}

// shortRun is the longest run scanned from its start at each lookup.
const shortRun = 8

// want is what a lookup accepts of a token with the text it asks for.
type want uint8

const (
	wantName      want = iota // a name not after "." or ":"
	wantMember                // a name after "." or ":"
	wantField                 // a name after "{", "," or ";" and before "="
	wantString                // a string
	wantNotString             // a keyword or operator
	nWants
)

// runState is how far the lookups of a long run have gone. Whether a token
// passes a want never changes, and a used token stays used, so each cursor
// only moves forward: all the lookups of a run cost O(run) in total.
type runState struct {
	// next[w]: every entry of the run before it is used or fails w.
	next [nWants]int32
	// first[w] is 2 + the first entry of the run that passes w, 1 if none
	// does, 0 if not known yet.
	first [nWants]int32
}

// anyString lists every string of a line in byText.
const anyString = "\x00string"

// newPositions indexes code, the tokens of a script without its comments.
func newPositions(code []token) *positions {
	strs := 0
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
		code:   code,
		byText: make([]int32, 0, len(code)+strs),
		used:   make([]bool, len(code)),

		namesAndStrings: names + strs,
	}
	for i, t := range code {
		if len(p.lineNo) == 0 || p.lineNo[len(p.lineNo)-1] != t.line {
			p.lineNo = append(p.lineNo, t.line)
			p.lineStart = append(p.lineStart, int32(len(p.byText)))
		}
		p.byText = append(p.byText, int32(i))
		if t.kind == tokString {
			p.byText = append(p.byText, int32(-i-1))
		}
	}
	p.lineStart = append(p.lineStart, int32(len(p.byText)))
	var scratch []int32
	for k := range p.lineNo {
		entries := p.byText[p.lineStart[k]:p.lineStart[k+1]]
		switch {
		case len(entries) > longLine:
			scratch = p.sortLong(entries, scratch)
		case len(entries) > 1:
			// Entries are in index order: a stable sort by text keeps it
			// within each text.
			slices.SortStableFunc(entries, func(a, b int32) int { return strings.Compare(p.key(a), p.key(b)) })
		}
	}
	return p
}

// longLine is the number of entries from which a line is sorted by
// counting rather than by comparing.
const longLine = 256

// sortLong sorts the entries of a long line, in index order, by text and
// then by index: the distinct texts are sorted, then the entries placed by
// a counting sort on the rank of their text, which keeps the index order.
// It costs O(n + k log k) for n entries of k distinct texts, where a sort
// comparing strings costs O(n log n) string comparisons. scratch is reused
// across lines and returned.
func (p *positions) sortLong(entries, scratch []int32) []int32 {
	rank := make(map[string]int32)
	var texts []string
	for _, e := range entries {
		if k := p.key(e); rank[k] == 0 {
			rank[k] = 1
			texts = append(texts, k)
		}
	}
	slices.Sort(texts)
	start := make([]int32, len(texts)+1) // start[r+1] counts rank r, then sums
	for r, k := range texts {
		rank[k] = int32(r)
	}
	scratch = slices.Grow(scratch[:0], len(entries))[:len(entries)]
	for i, e := range entries {
		r := rank[p.key(e)]
		scratch[i] = r
		start[r+1]++
	}
	for r := 1; r < len(start); r++ {
		start[r] += start[r-1]
	}
	sorted := make([]int32, len(entries))
	for i, e := range entries {
		r := scratch[i]
		sorted[start[r]] = e
		start[r]++
	}
	copy(entries, sorted)
	return scratch
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

// run returns the bounds in byText of the entries listed under text on
// line; they are empty if there is none.
func (p *positions) run(line int, text string) (lo, hi int) {
	k, ok := p.lineIndex(line)
	if !ok {
		return 0, 0
	}
	if p.last.line == line && p.last.text == text {
		return p.last.lo, p.last.hi
	}
	a, b := int(p.lineStart[k]), int(p.lineStart[k+1])
	defer func() { p.last = lastRun{line, text, lo, hi} }()
	lo = a + sort.Search(b-a, func(j int) bool { return p.key(p.byText[a+j]) >= text })
	hi = lo + sort.Search(b-lo, func(j int) bool { return p.key(p.byText[lo+j]) != text })
	return lo, hi
}

// take returns the index of the first unused token with the given text on
// line that passes w, and marks it used. If every such token is used
// already it returns the first one, and -1 if there is none.
func (p *positions) take(line int, text string, w want) int {
	lo, hi := p.run(line, text)
	if lo == hi {
		return -1
	}
	var st *runState
	start := lo
	if hi-lo > shortRun {
		if st = p.long[int32(lo)]; st == nil {
			if p.long == nil {
				p.long = make(map[int32]*runState)
			}
			st = &runState{}
			p.long[int32(lo)] = st
		}
		start = lo + int(st.next[w])
	}
	for j := start; j < hi; j++ {
		p.steps++
		i := int(index(p.byText[j]))
		if p.used[i] || !p.passes(i, w) {
			continue
		}
		p.used[i] = true
		if st != nil {
			st.next[w] = int32(j + 1 - lo)
		}
		return i
	}
	if st != nil {
		st.next[w] = int32(hi - lo)
		if st.first[w] != 0 {
			return int(st.first[w]) - 2
		}
	}
	first := -1
	for j := lo; j < hi; j++ {
		p.steps++
		if i := int(index(p.byText[j])); p.passes(i, w) {
			first = i
			break
		}
	}
	if st != nil {
		st.first[w] = int32(first + 2)
	}
	return first
}

// passes reports whether code[i] is a token w accepts.
func (p *positions) passes(i int, w want) bool {
	kind := p.code[i].kind
	switch w {
	case wantName:
		return kind == tokName && p.prev(i) != "." && p.prev(i) != ":"
	case wantMember:
		return kind == tokName && (p.prev(i) == "." || p.prev(i) == ":")
	case wantField:
		pr := p.prev(i)
		return kind == tokName && p.after(i) == "=" && (pr == "{" || pr == "," || pr == ";")
	case wantString:
		return kind == tokString
	case wantNotString:
		return kind != tokString
	}
	return false
}

// col returns the column of code[i], or 0 for i < 0.
func (p *positions) col(i int) int {
	if i < 0 {
		return 0
	}
	return int(p.code[i].col)
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
	return p.col(p.take(line, name, wantName))
}

// member returns the column of a field or method name written after "." or
// ":" (a.b, a:b), or 0 if the line has none: then the key was written as
// a["b"].
func (p *positions) member(line int, name string) int {
	return p.col(p.take(line, name, wantMember))
}

// field returns the column of a table constructor field name ({name = v}),
// or 0 if the line has none.
func (p *positions) field(line int, name string) int {
	return p.col(p.take(line, name, wantField))
}

// str returns the column of the opening quote of a string literal with the
// given value, or of the first string on the line if none matches exactly
// (the token keeps escapes as written).
func (p *positions) str(line int, value string) int {
	if i := p.take(line, value, wantString); i >= 0 {
		return p.col(i)
	}
	return p.col(p.take(line, anyString, wantString))
}

// keyword returns the column of the first keyword or operator kw on line.
func (p *positions) keyword(line int, kw string) int {
	return p.col(p.take(line, kw, wantNotString))
}

// localName takes the token of a name declared by "local" on line, as name
// does, and reports whether it is "local function name", whose name is in
// scope inside its own body (unlike local name = function).
func (p *positions) localName(line int, name string) (localFunction bool) {
	i := p.take(line, name, wantName)
	return i >= 2 && p.is(i-1, tokKeyword, "function") && p.is(i-2, tokKeyword, "local")
}

// hasCode reports whether a token other than a comment starts on line.
func (p *positions) hasCode(line int) bool {
	_, ok := p.lineIndex(line)
	return ok
}

// lineIndex returns k such that lineNo[k] is line, and whether there is one.
func (p *positions) lineIndex(line int) (int, bool) {
	k := sort.Search(len(p.lineNo), func(k int) bool { return int(p.lineNo[k]) >= line })
	return k, k < len(p.lineNo) && int(p.lineNo[k]) == line
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
