package luasrc

import "iter"

// line is one line of a source and the break that ends it.
type line struct {
	text string
	end  string // "\n", "\r", "\r\n", "\n\r", or "" for the last line
}

// splitLines splits src into lines as Lua counts them, and so as Redis
// numbers them in errors: "\n", "\r", "\r\n" and "\n\r" each end one line.
// There is one more line than there are breaks (the last may be empty),
// and joining each line's text and end gives src back.
func splitLines(src string) []line {
	lines := make([]line, 0, 1+countBreaks(src))
	for _, l := range eachLine(src) {
		lines = append(lines, l)
	}
	return lines
}

// eachLine yields the lines of splitLines with their index, without
// holding them all: a caller that stops early reads only what it used.
func eachLine(src string) iter.Seq2[int, line] {
	return func(yield func(int, line) bool) {
		start, n := 0, 0
		for i := 0; i < len(src); i++ {
			c := src[i]
			if c != '\n' && c != '\r' {
				continue
			}
			end := i + 1
			if end < len(src) && (src[end] == '\n' || src[end] == '\r') && src[end] != c {
				end++
			}
			if !yield(n, line{text: src[start:i], end: src[i:end]}) {
				return
			}
			n++
			start = end
			i = end - 1
		}
		yield(n, line{text: src[start:]})
	}
}

func countBreaks(src string) int {
	n := 0
	for i := 0; i < len(src); i++ {
		if c := src[i]; c == '\n' || c == '\r' {
			n++
			if i+1 < len(src) && (src[i+1] == '\n' || src[i+1] == '\r') && src[i+1] != c {
				i++
			}
		}
	}
	return n
}
