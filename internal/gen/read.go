package gen

import (
	"io/fs"
	"path"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/luasrc"
)

// Read reads fsys as redislua.NewRegistry does (with the same checks: a
// script the registry refuses is an error here too) and returns what
// Generate needs of it: Files, Scripts and Functions of an Input.
func Read(fsys fs.FS) (Input, error) {
	reg, err := redislua.NewRegistry(fsys, nil)
	if err != nil {
		return Input{}, err
	}
	var in Input
	for _, s := range reg.Scripts() {
		// The header as written: @include lines may sit in it, and the
		// expanded source would end it there.
		src, err := fs.ReadFile(fsys, s.File())
		if err != nil {
			return Input{}, err
		}
		h, err := luasrc.ParseHeader(string(src))
		if err != nil {
			return Input{}, err // the registry read it: not reached
		}
		in.Scripts = append(in.Scripts, Script{Name: s.Name(), Header: h})
	}
	for _, l := range reg.Libraries() {
		for _, f := range l.Functions() {
			in.Functions = append(in.Functions, Function{Name: f.Name(), Library: l.Name()})
		}
	}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path.Ext(p) == ".lua" {
			in.Files = append(in.Files, p)
		}
		return err
	})
	return in, err
}
