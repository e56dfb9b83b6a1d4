package luacheck

// positions recovers columns for syntax-tree nodes, which only know their
// line, by matching them with the tokens of that line. The walker visits
// nodes in source order and each match marks its token used, so the second
// "x" on a line gets the second token "x". Columns are best effort: a
// position that cannot be matched falls back to the first matching token,
// or to 0 for the caller to replace.
type positions struct {
	code     []token          // tokens without comments, in source order
	byText   map[posKey][]int // indices into code by line and text, in order
	next     map[posKey]int   // per key, the first entry of byText that may be unused
	used     []bool
	lines    map[int]bool    // lines where a token other than a comment starts
	localFns map[posKey]bool // "local function name" by line and name
}

// posKey names the tokens with a given text on a given line. Strings are
// also listed under anyString.
type posKey struct {
	line int
	text string
}

const anyString = "\x00string"

func newPositions(toks []token) *positions {
	p := &positions{
		byText:   make(map[posKey][]int, len(toks)),
		next:     make(map[posKey]int),
		lines:    make(map[int]bool),
		localFns: make(map[posKey]bool),
	}
	for _, t := range toks {
		if t.kind == tokComment {
			continue
		}
		i := len(p.code)
		p.code = append(p.code, t)
		p.lines[t.line] = true
		k := posKey{t.line, t.text}
		p.byText[k] = append(p.byText[k], i)
		if t.kind == tokString {
			k := posKey{t.line, anyString}
			p.byText[k] = append(p.byText[k], i)
		}
		if i >= 2 && t.kind == tokName && p.is(i-1, tokKeyword, "function") && p.is(i-2, tokKeyword, "local") {
			p.localFns[k] = true
		}
	}
	p.used = make([]bool, len(p.code))
	return p
}

// take returns the column of the first unused token with the given text on
// line for which ok holds, and marks it used. If every such token is used
// already it returns the column of the first one, and 0 if there is none.
func (p *positions) take(line int, text string, ok func(i int) bool) int {
	k := posKey{line, text}
	list := p.byText[k]
	start := p.next[k]
	for j := start; j < len(list); j++ {
		i := list[j]
		if p.used[i] || !ok(i) {
			continue
		}
		p.used[i] = true
		for start < len(list) && p.used[list[start]] {
			start++
		}
		p.next[k] = start
		return p.code[i].col
	}
	for _, i := range list {
		if ok(i) {
			return p.code[i].col
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
	return p.localFns[posKey{line, name}]
}

// hasCode reports whether a token other than a comment starts on line.
func (p *positions) hasCode(line int) bool { return p.lines[line] }

// startOfTokenEndingAt returns the start column of the token on line whose
// last byte is at col, as gopher-lua reports syntax errors at the end of the
// offending token; it returns col itself when no token ends there.
func (p *positions) startOfTokenEndingAt(line, col int) int {
	for _, t := range p.code {
		if t.endLine == line && t.endCol-1 == col {
			return t.col
		}
	}
	return col
}
