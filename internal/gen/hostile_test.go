package gen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// hostile are script directories whose names and headers are legal to the
// registry but awkward for Go: each must generate a package that compiles
// and passes go vet. Keys are package names; values map script paths to
// their source, and "types.go" to Go declared next to the output.
var hostile = map[string]map[string]string{
	// Parameters named as Go's predeclared identifiers, which the method
	// body itself uses ([]string{...}, nil, len, append).
	"predeclared": {
		"p.lua": "-- @key string\n-- @key [nil]\n-- @arg len int64\n-- @arg append string\n-- @arg [any] string\n-- @arg [true]\n-- @arg int64... int64\nreturn 1\n",
	},
	// A json result of a struct type, returned early when a later
	// optional argument is given without an earlier one.
	"jsonzero": {
		"j.lua":    "-- @arg [a] string\n-- @arg [b] string\n-- @return json Bal\nreturn cjson.encode({})\n",
		"types.go": "type Bal struct{ X int }\n",
	},
	// A directory with a space in its name: the //go:embed pattern must
	// be quoted.
	"spaces": {
		"my dir/x.lua": "-- @key k\nreturn 1\n",
	},
}

// TestHostileCompiles generates every hostile case into a module of its
// own that uses this repository and runs go vet on it.
func TestHostileCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	for pkg, files := range hostile {
		fsys := fstest.MapFS{}
		dir := filepath.Join(mod, pkg)
		for name, src := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if strings.HasSuffix(name, ".go") {
				src = "package " + pkg + "\n\n" + src
			} else {
				fsys[name] = &fstest.MapFile{Data: []byte(src)}
				p = filepath.Join(dir, "lua", filepath.FromSlash(name))
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		in, err := Read(fsys)
		if err != nil {
			t.Fatalf("%s: %v", pkg, err)
		}
		in.Package, in.Dir = pkg, "lua"
		out, err := Generate(in)
		if err != nil {
			t.Fatalf("%s: %v", pkg, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "scripts_gen.go"), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rootMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gomod := strings.Replace(string(rootMod), "module github.com/redislua/redislua", "module example.com/hostile", 1) +
		"\nrequire github.com/redislua/redislua v0.0.0\n\nreplace github.com/redislua/redislua => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the generated packages: %v\n%s", err, out)
	}
}
