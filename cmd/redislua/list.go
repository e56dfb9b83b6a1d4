package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/redislua/redislua"
)

var shaCommand = command{
	name:     "sha",
	synopsis: "PATH...",
	about: `Sha prints "name sha1" for every script below each directory PATH, or
for the file PATH: the SHA1 Redis gives the script after @include, the one
EVALSHA calls. Function libraries are not listed (Redis names them).`,
}

var lsCommand = command{
	name:     "ls",
	synopsis: "PATH...",
	about: `Ls prints, for every script below each directory PATH or the file PATH,
its description, its KEYS[n] and ARGV[n] with their descriptions and what
it returns, as its header declares them; then each function library with
its functions and their flags.`,
}

// sha prints "name sha1" for every script.
func sha(args []string, stdout, stderr io.Writer) int {
	fl := shaCommand.newFlags(stderr)
	paths, code, done := shaCommand.parse(fl, args, true, stdout, stderr)
	if done {
		return code
	}
	return eachRegistry("sha", paths, stderr, func(reg *redislua.Registry) error {
		for _, s := range reg.Scripts() {
			fmt.Fprintf(stdout, "%s %s\n", s.Name(), s.SHA())
		}
		return nil
	})
}

// ls prints each script's declared keys, args and return value.
func ls(args []string, stdout, stderr io.Writer) int {
	fl := lsCommand.newFlags(stderr)
	paths, code, done := lsCommand.parse(fl, args, true, stdout, stderr)
	if done {
		return code
	}
	return eachRegistry("ls", paths, stderr, func(reg *redislua.Registry) error {
		for _, s := range reg.Scripts() {
			ro := ""
			if s.ReadOnly() {
				ro = " (read-only)"
			}
			fmt.Fprintf(stdout, "%s%s\n", s.Name(), ro)
			if s.Description() != "" {
				fmt.Fprintf(stdout, "  %s\n", s.Description())
			}
			if len(s.Keys()) == 0 && len(s.Args()) == 0 {
				fmt.Fprintln(stdout, "  keys and args not declared")
			}
			for i, p := range s.Keys() {
				fmt.Fprintf(stdout, "  KEYS[%d] %s\n", i+1, param(p))
			}
			for i, p := range s.Args() {
				fmt.Fprintf(stdout, "  ARGV[%d] %s\n", i+1, param(p))
			}
			if s.Returns() != "" {
				fmt.Fprintf(stdout, "  returns %s\n", s.Returns())
			}
		}
		for _, l := range reg.Libraries() {
			fmt.Fprintf(stdout, "library %s (%s)\n", l.Name(), l.File())
			for _, f := range l.Functions() {
				flags := ""
				if len(f.Flags()) > 0 {
					flags = " [" + strings.Join(f.Flags(), ",") + "]"
				}
				fmt.Fprintf(stdout, "  function %s%s\n", f.Name(), flags)
			}
		}
		return nil
	})
}

func param(p redislua.Param) string {
	name := p.Name
	switch {
	case p.Optional:
		name = "[" + name + "]"
	case p.Variadic:
		name += "..."
	}
	return strings.TrimSpace(name + "  " + p.Description)
}

// eachRegistry opens every path and calls fn on it. A path that does not
// exist makes the exit code 2; one that does not load, or an error from
// fn, is reported on stderr and makes it 1 (unless it is 2 already).
func eachRegistry(cmd string, paths []string, stderr io.Writer, fn func(*redislua.Registry) error) int {
	code := exitOK
	fail := func(c int) {
		code = max(code, c)
	}
	for _, path := range paths {
		reg, src, err := openPath(path, nil)
		var pe *pathError
		switch {
		case errors.As(err, &pe):
			fmt.Fprintf(stderr, "redislua: %s: %v\n", cmd, pe)
			fail(exitUsage)
			continue
		case err != nil:
			_ = writeText(stderr, problems(src, err))
			fail(exitFindings)
			continue
		}
		if err := fn(reg); err != nil {
			for _, e := range leaves(err) {
				for line := range strings.Lines(e.Error()) {
					fmt.Fprintf(stderr, "redislua: %s: %s: %s\n", cmd, path, strings.TrimPrefix(strings.TrimSuffix(line, "\n"), "redislua: "))
				}
			}
			fail(exitFindings)
		}
	}
	return code
}
