package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/redislua/redislua"
)

// openDir reads dir as a registry, the way the library reads an embedded
// fs.FS. Paths in errors and findings are made relative to the working
// directory again (dir/file.lua), so editors can jump to them.
func openDir(dir string, opts *redislua.RegistryOptions) (*redislua.Registry, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	return redislua.NewRegistry(os.DirFS(dir), opts)
}

// inDir returns file, a path inside dir's fs.FS, as a path from the
// working directory.
func inDir(dir, file string) string { return filepath.Join(dir, filepath.FromSlash(file)) }

// leaves flattens a tree of errors joined with errors.Join.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// report prints one line per problem in err, with paths from the working
// directory, and returns how many there were.
func report(w io.Writer, dir string, err error) int {
	n := 0
	for _, e := range leaves(err) {
		var ce *redislua.CheckError
		var se *redislua.SyntaxError
		switch {
		case errors.As(e, &ce):
			for _, f := range ce.Findings {
				f.File = inDir(dir, f.File)
				fmt.Fprintln(w, f.String())
				n++
			}
		case errors.As(e, &se):
			fmt.Fprintf(w, "%s:%d:%d: syntax %s\n", inDir(dir, se.File), se.Line, max(se.Column, 1), se.Message)
			n++
		default:
			fmt.Fprintln(w, strings.TrimPrefix(e.Error(), "redislua: "))
			n++
		}
	}
	return n
}
