package luacheck

import "strings"

// ignoreDirective is the comment prefix that silences findings.
const ignoreDirective = "redislua:ignore"

// allIDs stands for every ID in a directive that lists none.
const allIDs = "*"

// suppressions maps a line to the IDs silenced on it.
type suppressions map[int]map[string]bool

// parseSuppressions reads the "-- redislua:ignore ID..." line comments.
//
// A directive after code on a line applies to that line. A directive alone
// on its line applies to the next line, skipping lines that hold only
// comments, so it can sit above an explanatory comment. (Check also applies
// a directive on the first line of a statement to findings on its later
// lines, such as an argument of a call written over several lines.) IDs are separated by
// commas or spaces and matched case-insensitively; the first word that is not
// an ID ends the list, so a reason may follow. The directive and the IDs
// are matched case-insensitively. A directive without IDs
// silences every finding on its line.
func parseSuppressions(comments []token, pos *positions) suppressions {
	var s suppressions     // made at the first directive: most scripts have none
	var commentOnly []bool // by line, made at the first directive too
	for _, t := range comments {
		if t.long {
			continue
		}
		ids, ok := parseDirective(t.text)
		if !ok {
			continue
		}
		if s == nil {
			s = make(suppressions)
			commentOnly = commentOnlyLines(comments, pos)
		}
		line := int(t.line)
		if commentOnly[line] {
			line++
			for line < len(commentOnly) && commentOnly[line] {
				line++
			}
		}
		if s[line] == nil {
			s[line] = make(map[string]bool)
		}
		for _, id := range ids {
			s[line][id] = true
		}
	}
	return s
}

// commentOnlyLines reports, by line, whether a line holds comments and no
// code. comments are in source order.
func commentOnlyLines(comments []token, pos *positions) []bool {
	only := make([]bool, int(comments[len(comments)-1].line)+1)
	for _, t := range comments {
		if !pos.hasCode(int(t.line)) {
			only[t.line] = true
		}
	}
	return only
}

// parseDirective parses the body of a line comment (the text after "--").
func parseDirective(body string) (ids []string, ok bool) {
	body = strings.TrimLeft(body, "- \t")
	if len(body) < len(ignoreDirective) || !strings.EqualFold(body[:len(ignoreDirective)], ignoreDirective) {
		return nil, false
	}
	rest := body[len(ignoreDirective):]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' && rest[0] != ':' {
		return nil, false
	}
	rest = strings.TrimPrefix(rest, ":")
	words := strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(words) == 0 {
		return []string{allIDs}, true
	}
	for _, w := range words {
		id, known := canonicalID(strings.TrimRight(w, ":;."))
		if !known {
			break
		}
		ids = append(ids, id)
	}
	return ids, true
}

// covers reports whether a directive silences id on line. s may be nil.
func (s suppressions) covers(line int, id string) bool {
	return s[line][id] || s[line][allIDs]
}
