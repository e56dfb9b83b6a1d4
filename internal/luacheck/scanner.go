package luacheck

// gopher-lua's syntax tree has lines but no columns and no comments. This
// file scans the source a second time, leniently (the parser has already
// accepted it), to recover both: the position of every token, and the text
// of every comment.

type tokenKind uint8

const (
	tokName    tokenKind = iota // identifier
	tokKeyword                  // reserved word
	tokString                   // quoted or long-bracket string
	tokNumber                   // numeric literal
	tokOp                       // operator or punctuation
	tokComment                  // -- comment, line or long
)

// token is one lexical element. line and col are 1-based and give the first
// byte; endCol is the column of the byte after the token on its last line.
// (int32 keeps a token at 40 bytes, and is enough: Redis refuses a script
// of more than 512 MB.)
type token struct {
	text    string // name, keyword or operator; string contents; comment body after "--"
	line    int32
	col     int32
	endLine int32
	endCol  int32
	kind    tokenKind
	long    bool // long-bracket string or comment
}

var keywords = map[string]bool{
	"and": true, "break": true, "do": true, "else": true, "elseif": true,
	"end": true, "false": true, "for": true, "function": true, "goto": true,
	"if": true, "in": true, "local": true, "nil": true, "not": true, "or": true,
	"repeat": true, "return": true, "then": true, "true": true, "until": true,
	"while": true,
}

// scanner walks the source byte by byte, counting lines the way Lua does:
// "\n", "\r", "\r\n" and "\n\r" each end one line.
type scanner struct {
	src       string
	i         int
	line      int
	lineStart int
	code      []token // tokens other than comments
	comments  []token
	// counting makes emit count tokens in nCode and nComments instead of
	// keeping them.
	counting  bool
	nCode     int
	nComments int
}

// scanTokens splits src into tokens, comments apart. It never fails: an
// unterminated string or comment runs to the end of its line or of the
// source. It scans twice, first to count the tokens, so that each slice
// is allocated once at its size: growing them by append cost more than
// the second pass.
func scanTokens(src string) (code, comments []token) {
	n := &scanner{src: src, line: 1, counting: true}
	n.run()
	s := &scanner{src: src, line: 1,
		code: make([]token, 0, n.nCode), comments: make([]token, 0, n.nComments)}
	s.run()
	return s.code, s.comments
}

func (s *scanner) run() {
	for s.i < len(s.src) {
		s.next()
	}
}

func (s *scanner) col() int { return s.i - s.lineStart + 1 }

func (s *scanner) peek(off int) byte {
	if s.i+off < len(s.src) {
		return s.src[s.i+off]
	}
	return 0
}

// newline consumes the line break at s.i.
func (s *scanner) newline() {
	c := s.src[s.i]
	s.i++
	if n := s.peek(0); (n == '\r' || n == '\n') && n != c {
		s.i++
	}
	s.line++
	s.lineStart = s.i
}

func (s *scanner) emit(kind tokenKind, line, col int, text string, long bool) {
	switch {
	case s.counting && kind == tokComment:
		s.nComments++
		return
	case s.counting:
		s.nCode++
		return
	}
	t := token{
		kind: kind, line: int32(line), col: int32(col), endLine: int32(s.line), endCol: int32(s.col()),
		text: text, long: long,
	}
	if kind == tokComment {
		s.comments = append(s.comments, t)
	} else {
		s.code = append(s.code, t)
	}
}

func (s *scanner) next() {
	c := s.src[s.i]
	line, col := s.line, s.col()
	switch {
	case c == '\n' || c == '\r':
		s.newline()
	case c == ' ' || c == '\t' || c == '\f' || c == '\v':
		s.i++
	case isNameStart(c):
		start := s.i
		for s.i < len(s.src) && isNameByte(s.src[s.i]) {
			s.i++
		}
		word := s.src[start:s.i]
		kind := tokName
		if keywords[word] {
			kind = tokKeyword
		}
		s.emit(kind, line, col, word, false)
	case isDigit(c) || c == '.' && isDigit(s.peek(1)):
		start := s.i
		s.number()
		s.emit(tokNumber, line, col, s.src[start:s.i], false)
	case c == '"' || c == '\'':
		s.emit(tokString, line, col, s.quoted(c), false)
	case c == '-' && s.peek(1) == '-':
		s.i += 2
		if level := s.longOpen(); level >= 0 {
			s.emit(tokComment, line, col, s.longBody(level), true)
			return
		}
		start := s.i
		for s.i < len(s.src) && s.src[s.i] != '\n' && s.src[s.i] != '\r' {
			s.i++
		}
		s.emit(tokComment, line, col, s.src[start:s.i], false)
	case c == '[':
		if level := s.longOpen(); level >= 0 {
			s.emit(tokString, line, col, s.longBody(level), true)
			return
		}
		s.i++
		s.emit(tokOp, line, col, "[", false)
	default:
		n := opLen(s.src[s.i:])
		s.i += n
		s.emit(tokOp, line, col, s.src[s.i-n:s.i], false)
	}
}

// number consumes a numeric literal, hexadecimal or decimal with exponent.
func (s *scanner) number() {
	hex := s.src[s.i] == '0' && (s.peek(1) == 'x' || s.peek(1) == 'X')
	if hex {
		s.i += 2
	}
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case isNameByte(c) || c == '.':
			s.i++
			if !hex && (c == 'e' || c == 'E') && (s.peek(0) == '+' || s.peek(0) == '-') {
				s.i++
			}
		default:
			return
		}
	}
}

// quoted consumes a quoted string and returns its raw contents (escapes are
// kept as written). A backslash before a line break continues the string.
func (s *scanner) quoted(quote byte) string {
	s.i++
	start := s.i
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == quote:
			body := s.src[start:s.i]
			s.i++
			return body
		case c == '\n' || c == '\r':
			return s.src[start:s.i] // unterminated
		case c == '\\' && s.i+1 < len(s.src):
			s.i++
			if n := s.src[s.i]; n == '\n' || n == '\r' {
				s.newline()
			} else {
				s.i++
			}
		default:
			s.i++
		}
	}
	return s.src[start:]
}

// longOpen checks for a long bracket [[ or [==[ at s.i. It returns the
// number of '=' signs and consumes the bracket, or returns -1 and consumes
// nothing.
func (s *scanner) longOpen() int {
	if s.peek(0) != '[' {
		return -1
	}
	j := s.i + 1
	for j < len(s.src) && s.src[j] == '=' {
		j++
	}
	if j >= len(s.src) || s.src[j] != '[' {
		return -1
	}
	level := j - s.i - 1
	s.i = j + 1
	return level
}

// longBody consumes the contents of a long bracket up to its closing bracket
// of the same level and returns them.
func (s *scanner) longBody(level int) string {
	start := s.i
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\n' || c == '\r':
			s.newline()
		case c == ']' && s.closes(level):
			body := s.src[start:s.i]
			s.i += level + 2
			return body
		default:
			s.i++
		}
	}
	return s.src[start:]
}

func (s *scanner) closes(level int) bool {
	j := s.i + 1
	for k := 0; k < level; k++ {
		if j >= len(s.src) || s.src[j] != '=' {
			return false
		}
		j++
	}
	return j < len(s.src) && s.src[j] == ']'
}

// opLen returns the length of the operator at the start of s.
func opLen(s string) int {
	for _, op := range [...]string{"...", "..", "==", "~=", "<=", ">=", "::"} {
		if len(s) >= len(op) && s[:len(op)] == op {
			return len(op)
		}
	}
	return 1
}

func isNameStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isNameByte(c byte) bool { return isNameStart(c) || isDigit(c) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isName reports whether s is a valid Lua identifier that is not a keyword.
func isName(s string) bool {
	if s == "" || !isNameStart(s[0]) || keywords[s] {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// lineCount returns the number of lines in src, counting line breaks as
// the scanner does.
func lineCount(src string) int {
	s := &scanner{src: src, line: 1}
	for s.i < len(s.src) {
		if c := s.src[s.i]; c == '\n' || c == '\r' {
			s.newline()
		} else {
			s.i++
		}
	}
	return s.line
}
