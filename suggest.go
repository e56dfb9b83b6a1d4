package redislua

import (
	"fmt"
	"sort"
	"strings"

	"github.com/redislua/redislua/internal/editdist"
)

// unknownScript builds the error for a name a registry does not have,
// suggesting up to three close names. When the closest is the name inside
// a directory ("lua/hit" for "hit"), it shows the fs.Sub call that names
// scripts from inside that directory.
func unknownScript(name string, names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("%w %q: the registry is empty", ErrUnknownScript, name)
	}
	close := closeNames(name, names, 3)
	if len(close) == 0 {
		return fmt.Errorf("%w %q", ErrUnknownScript, name)
	}
	if dir, ok := strings.CutSuffix(close[0], "/"+name); ok {
		return fmt.Errorf("%w %q (did you mean %s? fs.Sub(fsys, %q) names scripts from inside %s/)", ErrUnknownScript, name, quoteList(close), dir, dir)
	}
	return fmt.Errorf("%w %q (did you mean %s?)", ErrUnknownScript, name, quoteList(close))
}

// closeNames returns at most n names within a small edit distance of name,
// closest first.
func closeNames(name string, names []string, n int) []string {
	type scored struct {
		name string
		dist int
	}
	limit := max(2, len(name)/3)
	var found []scored
	for _, c := range names {
		d := editdist.Distance(strings.ToLower(name), strings.ToLower(c))
		if d <= limit || strings.HasSuffix(c, "/"+name) {
			found = append(found, scored{c, d})
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].dist < found[j].dist })
	out := make([]string, 0, n)
	for i := 0; i < len(found) && i < n; i++ {
		out = append(out, found[i].name)
	}
	return out
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, s := range names {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
