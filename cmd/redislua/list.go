package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/redislua/redislua"
)

// sha prints "name sha1" for every script.
func sha(dirs []string, stdout, stderr io.Writer) int {
	return eachRegistry(dirs, stderr, func(reg *redislua.Registry) error {
		for _, s := range reg.Scripts() {
			fmt.Fprintf(stdout, "%s %s\n", s.Name(), s.SHA())
		}
		return nil
	})
}

// ls prints each script's declared keys, args and return value.
func ls(dirs []string, stdout, stderr io.Writer) int {
	return eachRegistry(dirs, stderr, func(reg *redislua.Registry) error {
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

// eachRegistry opens every dir and calls fn on it; a dir that does not
// load, or an error from fn, is reported and makes the exit code 1.
func eachRegistry(dirs []string, stderr io.Writer, fn func(*redislua.Registry) error) int {
	if len(dirs) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	code := 0
	for _, dir := range dirs {
		reg, err := openDir(dir, nil)
		if err != nil {
			report(stderr, dir, err)
			code = 1
			continue
		}
		if err := fn(reg); err != nil {
			fmt.Fprintf(stderr, "redislua: %s: %v\n", dir, err)
			code = 1
		}
	}
	return code
}
