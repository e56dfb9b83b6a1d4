package docs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// root is the repository's root, from this package's directory.
const root = "../.."

var (
	fence    = regexp.MustCompile("(?ms)^ *```.*?^ *```[^\n]*$")
	codeSpan = regexp.MustCompile("`[^`\n]*`")
	link     = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading  = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *#*$`)
)

// Every relative link of every Markdown file names a file or directory
// that exists, and a #fragment names a heading of the Markdown file it
// points into.
func TestRelativeLinksResolve(t *testing.T) {
	for _, file := range markdownFiles(t) {
		text := prose(read(t, file))
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, fragment, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
			}
			rel, _ := filepath.Rel(root, file)
			if _, err := os.Stat(dest); err != nil {
				if pending(dest) {
					t.Logf("%s: %s does not exist yet; its package does not either", rel, target)
					continue
				}
				t.Errorf("%s: link %s: %v", rel, target, err)
				continue
			}
			if fragment != "" && strings.HasSuffix(dest, ".md") && !anchors(t, dest)[fragment] {
				t.Errorf("%s: link %s: no heading with the anchor #%s", rel, target, fragment)
			}
		}
	}
}

// Every guide in docs/ is reachable from the README.
func TestReadmeLinksEveryGuide(t *testing.T) {
	readme := prose(read(t, filepath.Join(root, "README.md")))
	guides, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range guides {
		name := "docs/" + filepath.Base(g)
		if !strings.Contains(readme, "]("+name+")") && !strings.Contains(readme, "]("+name+"#") {
			t.Errorf("README.md does not link %s", name)
		}
	}
}

// The README shows the test command CI runs, word for word, so that what
// a newcomer runs is what CI checks.
func TestReadmeShowsTheCITestCommand(t *testing.T) {
	// The first line that runs go test, with environment assignments
	// before it; the benchmarks module's run, in a subshell, is not it.
	command := regexp.MustCompile(`(?m)^(?:\w+=\S* )*go test .*$`).FindString(read(t, filepath.Join(root, ".ci", "run")))
	if command == "" {
		t.Fatal(".ci/run has no line that runs go test")
	}
	if !strings.Contains(read(t, filepath.Join(root, "README.md")), "\n"+command+"\n") {
		t.Errorf("README.md does not show .ci/run's test command on a line of its own: %s", command)
	}
}

// pending reports whether dest is docs/<pkg>.md of a primitive package
// that does not exist yet: that guide is written with its package.
func pending(dest string) bool {
	rel, err := filepath.Rel(filepath.Join(root, "docs"), dest)
	if err != nil || filepath.Dir(rel) != "." || filepath.Ext(rel) != ".md" {
		return false
	}
	pkg := strings.TrimSuffix(rel, ".md")
	switch pkg {
	case "lock", "ratelimit", "transfer", "cas":
	default:
		return false
	}
	goFiles, _ := filepath.Glob(filepath.Join(root, pkg, "*.go"))
	return len(goFiles) == 0
}

// markdownFiles lists the repository's Markdown files, test data aside.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found only %d Markdown files under %s", len(files), root)
	}
	return files
}

// anchors returns the anchors GitHub gives the headings of a Markdown file.
func anchors(t *testing.T, file string) map[string]bool {
	seen := map[string]int{}
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(read(t, file), ""), -1) {
		slug := slugify(m[1])
		if n := seen[slug]; n > 0 {
			out[slug+"-"+strconv.Itoa(n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

// slugify makes a heading's anchor as GitHub does: lower case, spaces to
// hyphens, every other character but letters, digits, '-' and '_' dropped.
func slugify(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// prose drops code blocks and code spans, whose brackets are not links.
func prose(md string) string {
	return codeSpan.ReplaceAllString(fence.ReplaceAllString(md, ""), "")
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}
