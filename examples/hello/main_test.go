package main

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// The README's first program runs as written: against a miniredis at
// REDIS_ADDR it counts hits and leaves a counter that expires.
func TestHelloRuns(t *testing.T) {
	m := miniredis.RunT(t)
	t.Setenv("REDIS_ADDR", m.Addr())
	for _, want := range []string{"hits: 1\n", "hits: 2\n"} {
		if got := stdoutOf(t, main); got != want {
			t.Errorf("output %q, want %q", got, want)
		}
	}
	if ttl := m.TTL("hello:hits"); ttl != 60*time.Second {
		t.Errorf("TTL of hello:hits = %v, want 1m0s: the program must not leave keys behind", ttl)
	}
}

// The README quotes main.go and lua/hit.lua verbatim, so the program a
// reader copies is the one TestHelloRuns runs.
func TestReadmeQuotesHello(t *testing.T) {
	readme := read(t, "../../README.md")
	for file, lang := range map[string]string{"main.go": "go", "lua/hit.lua": "lua"} {
		want := read(t, file)
		found := false
		for _, block := range fencedBlocks(readme, lang) {
			if block == want {
				found = true
			}
		}
		if !found {
			t.Errorf("README.md has no ```%s block equal to examples/hello/%s; copy the file into it", lang, file)
		}
	}
}

// fencedBlocks returns the contents of the Markdown code blocks of md
// fenced as ```lang, each ending with its last line's newline.
func fencedBlocks(md, lang string) []string {
	re := regexp.MustCompile("(?ms)^```" + regexp.QuoteMeta(lang) + "\n(.*?)^```$")
	var blocks []string
	for _, m := range re.FindAllStringSubmatch(md, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// stdoutOf runs f and returns what it wrote to os.Stdout.
func stdoutOf(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = saved }()
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	f()
	w.Close()
	return <-done
}
