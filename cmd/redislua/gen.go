package main

import (
	"errors"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/redislua/redislua/internal/gen"
)

// genFile is the generated file's name when -o is not given.
const genFile = "scripts_gen.go"

// genCmd writes typed Go wrappers for the scripts of one directory, or
// with -check reports whether the file written earlier is up to date.
func genCmd(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("gen", flag.ContinueOnError)
	fl.SetOutput(stderr)
	out := fl.String("o", "", "the generated file (default DIR/"+genFile+"); the scripts must be in its directory or below")
	pkg := fl.String("pkg", "", "its package name (default: that of the other Go files in its directory, else the directory's name)")
	check := fl.Bool("check", false, "write nothing; exit 1 and print the difference when the file is not what gen would write")
	fl.Usage = func() {
		fmt.Fprintf(stderr, "usage: redislua gen [-o file] [-pkg name] [-check] DIR\n\nWrites a Go file with a typed method per script and function of DIR.\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return 2
	}
	dir := fl.Arg(0)
	if *out == "" {
		*out = filepath.Join(dir, genFile)
	}
	// The registry's checks first, reported as lint reports them.
	if _, src, err := openPath(dir, nil); err != nil {
		for _, p := range problems(src, err) {
			fmt.Fprintln(stderr, p)
		}
		var pe *pathError
		if errors.As(err, &pe) {
			return 2
		}
		return 1
	}
	in, err := gen.Read(os.DirFS(dir))
	if err != nil {
		fmt.Fprintf(stderr, "redislua: %s: %v\n", dir, err)
		return 1
	}
	absOut, err1 := filepath.Abs(*out)
	absDir, err2 := filepath.Abs(dir)
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintf(stderr, "redislua: %v\n", err)
		return 2
	}
	rel, err := filepath.Rel(filepath.Dir(absOut), absDir)
	if err != nil {
		fmt.Fprintf(stderr, "redislua: %v\n", err)
		return 2
	}
	in.Dir = filepath.ToSlash(rel)
	in.Package = *pkg
	if in.Package == "" {
		in.Package = packageOf(filepath.Dir(absOut), absOut)
	}
	src, err := gen.Generate(in)
	if err != nil {
		fmt.Fprintf(stderr, "redislua: %v\n", err)
		return 1
	}
	if *check {
		old, err := os.ReadFile(*out)
		if err != nil {
			fmt.Fprintf(stderr, "redislua: %v (run redislua gen to write it)\n", err)
			return 1
		}
		if d := gen.Diff(*out, *out+" (generated)", old, src); d != "" {
			fmt.Fprint(stdout, d)
			fmt.Fprintf(stderr, "redislua: %s is stale: run redislua gen without -check to rewrite it\n", *out)
			return 1
		}
		return 0
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintf(stderr, "redislua: %v\n", err)
		return 1
	}
	return 0
}

// packageOf returns the package name of the Go files in dir other than
// skip and tests, or a name made of dir's base name.
func packageOf(dir, skip string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if f == skip || strings.HasSuffix(f, "_test.go") {
			continue
		}
		if af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly); err == nil {
			return af.Name.Name
		}
	}
	name := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' {
			return unicode.ToLower(r)
		}
		return -1
	}, filepath.Base(dir))
	if name == "" || !token.IsIdentifier(name) {
		return "scripts"
	}
	return name
}
