package luacheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The work Check does must grow linearly with the script: a script of one
// long line, or of many copies of one statement, once cost time quadratic
// in its length (240 KB of "x = x " took 41 s). These tests bound the work
// by counting it, never by timing it.

// Bounds on the work per token: generous against the largest seen on the
// test data and the pathological inputs below (steps 2.0, visits 2.2).
const (
	stepsPerToken  = 16
	visitsPerToken = 8
)

// costly are inputs built from one statement repeated, each on one line
// and on many: they make every run of same-text tokens long.
func costly() []string {
	statements := []string{
		"x = x ", "do local a = b end ", "do local function f() end end ", "t.x = x.t ",
		"a = {x = x} ", "f'a' 'b' ", "redis.call('cmd') ", "do local t = {} t[x] = t.x end ",
		"if x then x = x end ", "f(a or b or c) ",
	}
	expressions := []string{"KEYS[1], ", "x, ", "{x = x}, ", "t.x.x, ", "'a', "}
	var out []string
	for _, u := range statements {
		n := 8 << 10 / len(u)
		out = append(out, strings.Repeat(u, n), strings.Repeat(u+"\n", n))
	}
	for _, u := range expressions {
		n := 8 << 10 / len(u)
		out = append(out, "return {"+strings.Repeat(u, n)+"}", "return {"+strings.Repeat(u+"\n", n)+"}")
	}
	return out
}

func checkCost(t *testing.T, src string) {
	t.Helper()
	var w cost
	func() {
		defer func() { _ = recover() }() // ErrTooDeep and friends: the cost so far counts
		_, _ = check(src, Config{DeclaredKeys: 1}, &w)
	}()
	if w.steps > stepsPerToken*(w.tokens+1) || w.visits > visitsPerToken*(w.tokens+1) {
		t.Errorf("Check(%.60q... %d bytes): %d tokens, %d column steps, %d visits; want at most %d and %d per token",
			src, len(src), w.tokens, w.steps, w.visits, stepsPerToken, visitsPerToken)
	}
}

func TestCostLinear(t *testing.T) {
	for _, src := range costly() {
		checkCost(t, src)
	}
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "*.lua"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		checkCost(t, string(b))
		checkCost(t, strings.Join(strings.Fields(stripComments(string(b))), " "))
	}
}

// stripComments drops "--" line comments, to join a script on one line.
func stripComments(src string) string {
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		if j := strings.Index(l, "--"); j >= 0 {
			lines[i] = l[:j]
		}
	}
	return strings.Join(lines, "\n")
}

// FuzzCheckCost checks that the work Check does stays linear in the
// tokens of any script.
func FuzzCheckCost(f *testing.F) {
	for _, src := range costly() {
		f.Add(src[:min(len(src), 2048)])
	}
	f.Add("local a, a, a = a, a, a return a.a.a:a(a)")
	f.Fuzz(func(t *testing.T, src string) {
		checkCost(t, src)
	})
}
