package gen

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redislua/redislua/internal/luasrc"
)

var update = flag.Bool("update", false, "rewrite testdata/scripts_gen.go.golden")

// generated is the wrappers of testdata/scripts, for a file next to them.
func generated(t *testing.T) []byte {
	t.Helper()
	in, err := Read(os.DirFS("testdata/scripts"))
	if err != nil {
		t.Fatal(err)
	}
	in.Package, in.Dir = "scripts", "."
	src, err := Generate(in)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestGolden(t *testing.T) {
	got := generated(t)
	golden := filepath.Join("testdata", "scripts_gen.go.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(golden, "generated", want, got); d != "" {
		t.Errorf("output differs from the golden file (go test -run TestGolden -update rewrites it):\n%s", d)
	}
}

func TestDeterministic(t *testing.T) {
	a, b := generated(t), generated(t)
	if string(a) != string(b) {
		t.Error("two runs differ")
	}
}

func TestDiff(t *testing.T) {
	a := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
	b := "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\n"
	want := `--- old
+++ new
@@ -1,10 +1,11 @@
 a
 b
 c
-d
+D
 e
 f
 g
 h
 i
 j
+k
`
	if got := Diff("old", "new", []byte(a), []byte(b)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := Diff("old", "new", []byte(a), []byte(a)); got != "" {
		t.Errorf("equal inputs: got %q", got)
	}
	far := strings.Repeat("x\n", 20)
	if got := Diff("a", "b", []byte("1\n"+far+"2\n"), []byte("one\n"+far+"two\n")); strings.Count(got, "@@ ") != 2 {
		t.Errorf("distant changes: want two hunks, got\n%s", got)
	}
}

// A json type that is not a type, or that names what the generated file
// declares or imports, is refused with a message rather than written as
// a file that does not compile.
func TestJSONTypeRefused(t *testing.T) {
	for _, typ := range []string{"1", "Scripts", "NewScripts", "scriptFiles", "[]NewScripts", "map[string]context"} {
		in := Input{Package: "p", Dir: ".", Files: []string{"j.lua"}, Scripts: []Script{{Name: "j",
			Header: luasrc.Header{ReturnType: "json", ReturnGoType: typ}}}}
		_, err := Generate(in)
		if err == nil || !strings.Contains(err.Error(), "@return json "+typ) {
			t.Errorf("@return json %s: err = %v, want one naming it", typ, err)
		}
	}
}

// A directory with no script or function (empty, or only included files)
// is an error, not a file that does not compile ("context" imported and
// not used, a //go:embed line with no pattern).
func TestNothingToGenerate(t *testing.T) {
	for _, files := range [][]string{nil, {"lib/util.lua"}} {
		_, err := Generate(Input{Package: "p", Dir: "lua", Files: files})
		if err == nil || !strings.Contains(err.Error(), "no script") {
			t.Errorf("files %q: err = %v, want one saying there is no script", files, err)
		}
	}
}
