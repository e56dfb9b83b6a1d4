package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/redislua/redislua"
)

// source is a PATH given on the command line: a directory, or one file
// read with its directory as the fs.FS root.
type source struct {
	arg  string // as given
	root string // the directory read as an fs.FS
	file string // the file arg names, a path in root; "" for a directory
}

// openPath reads path as a registry, the way the library reads an
// embedded fs.FS. A directory is read whole. A file is read as the only
// script of the first directory of its path (lua for lua/lock/acquire.lua,
// named "lock/acquire" as "lint lua" names it), so @include lines that
// climb above its own directory still resolve; an absolute path, or one
// starting with "..", is read with the file's own directory as the root.
// A path that does not exist or is not a .lua file is a *pathError.
func openPath(path string, opts *redislua.RegistryOptions) (*redislua.Registry, source, error) {
	src := source{arg: path, root: path}
	info, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%s: %w", path, pe.Err)
		}
		return nil, src, &pathError{err}
	}
	if info.IsDir() {
		reg, err := redislua.NewRegistry(os.DirFS(path), opts)
		return reg, src, err
	}
	if filepath.Ext(path) != ".lua" {
		return nil, src, &pathError{fmt.Errorf("%s is not a directory or a .lua file", path)}
	}
	src.root, src.file = fileRoot(path)
	reg, err := redislua.NewRegistry(oneFile{os.DirFS(src.root), src.file}, opts)
	return reg, src, err
}

// fileRoot splits the path of a file into the directory openPath reads
// and the file's path in it, with forward slashes.
func fileRoot(path string) (root, file string) {
	clean := filepath.Clean(path)
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return filepath.Dir(clean), filepath.Base(clean)
	}
	top, rest, ok := strings.Cut(clean, string(filepath.Separator))
	if !ok {
		return ".", clean
	}
	return top, filepath.ToSlash(rest)
}

// where returns file, a path in src's fs.FS, as a path from the working
// directory, so editors can jump to it: the PATH as given for the file it
// names.
func (src source) where(file string) string {
	if src.file != "" && file == src.file {
		return src.arg
	}
	return filepath.Join(src.root, filepath.FromSlash(file))
}

// pathError is a path given on the command line that cannot be read: a
// usage error (exit 2), not a finding.
type pathError struct{ err error }

func (e *pathError) Error() string { return e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// oneFile is a directory that lists only one of its files, name, and the
// directories above it: the registry reads that file as its only script,
// and may still open the others through @include.
type oneFile struct {
	fs.FS
	name string
}

// Stat asks the directory, so that the registry learns a named pipe is
// not a regular file without opening it (which waits for a writer).
func (o oneFile) Stat(name string) (fs.FileInfo, error) { return fs.Stat(o.FS, name) }

// ReadDir lists, in dir, the entry on the way to name, if there is one.
func (o oneFile) ReadDir(dir string) ([]fs.DirEntry, error) {
	rest := o.name
	if dir != "." {
		var ok bool
		if rest, ok = strings.CutPrefix(o.name, dir+"/"); !ok {
			return nil, nil
		}
	}
	next, _, _ := strings.Cut(rest, "/")
	info, err := fs.Lstat(o.FS, path.Join(dir, next))
	if err != nil {
		return nil, err
	}
	return []fs.DirEntry{fs.FileInfoToDirEntry(info)}, nil
}

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

// problem is one line of a report: a finding, a syntax error, or (with
// no Line) a file that could not be read.
type problem struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Severity string `json:"severity"` // "error" or "warning"
	ID       string `json:"id"`
	Message  string `json:"message"`
}

// String formats p as "file:line:col: severity[id] message", or its
// message alone when it has no position.
func (p problem) String() string {
	if p.Line == 0 {
		return p.Message
	}
	return fmt.Sprintf("%s:%d:%d: %s[%s] %s", p.File, p.Line, p.Column, p.Severity, p.ID, p.Message)
}

// problems lists what err, from opening src, reports.
func problems(src source, err error) []problem {
	var out []problem
	for _, e := range leaves(err) {
		var ce *redislua.CheckError
		var se *redislua.SyntaxError
		switch {
		case errors.As(e, &ce):
			for _, f := range ce.Findings {
				out = append(out, problem{File: src.where(f.File), Line: f.Line, Column: f.Col,
					Severity: f.Severity.String(), ID: f.ID, Message: f.Message})
			}
		case errors.As(e, &se):
			out = append(out, problem{File: src.where(se.File), Line: se.Line, Column: max(se.Column, 1),
				Severity: "error", ID: "syntax", Message: se.Message})
		default:
			out = append(out, problem{File: src.arg, Severity: "error", ID: "read",
				Message: strings.TrimPrefix(e.Error(), "redislua: ")})
		}
	}
	return out
}
