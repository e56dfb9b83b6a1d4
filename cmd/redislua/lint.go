package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/redislua/redislua"
)

var lintCommand = command{
	name:     "lint",
	synopsis: "[-strict] [-ignore ID,...] [-format text|json|sarif] PATH...",
	about: `Lint runs the library's static checks on every script and function
library below each directory PATH, or on the file PATH (read with its
directory as the root, so @include resolves), and prints each finding:

  file:line:col: error[global-write] message
  file:line:col: warning[key-not-from-KEYS] message

An error is code Redis refuses (the library refuses the script at
start-up); a warning is code that runs but is fragile. -format json prints
an array of findings (file, line, column, severity, id, message); -format
sarif prints a SARIF 2.1.0 log for code-scanning tools.`,
}

// lint prints every finding. It exits 1 when a script has errors, or any
// warning under -strict, and 2 when a PATH cannot be read.
func lint(args []string, stdout, stderr io.Writer) int {
	fl := lintCommand.newFlags(stderr)
	strict := fl.Bool("strict", false, "exit 1 on warnings too")
	ignore := fl.String("ignore", "", "comma-separated finding `IDs` to skip")
	format := fl.String("format", "text", "output `format`: text, json or sarif")
	paths, code, done := lintCommand.parse(fl, args, true, stdout, stderr)
	if done {
		return code
	}
	write, ok := formats[*format]
	if !ok {
		fmt.Fprintf(stderr, "redislua lint: unknown -format %q (want text, json or sarif)\n", *format)
		return exitUsage
	}
	var ignored []string
	if *ignore != "" {
		ignored = strings.Split(*ignore, ",")
	}
	all := []problem{}
	for _, path := range paths {
		// Strict checks make every finding an error, so one pass reports
		// them all; the severity decides the exit code.
		_, src, err := openPath(path, &redislua.RegistryOptions{StrictChecks: true, IgnoredChecks: ignored})
		var pe *pathError
		switch {
		case err == nil:
			continue
		case errors.As(err, &pe):
			fmt.Fprintf(stderr, "redislua: lint: %v\n", pe)
			code = exitUsage
			continue
		}
		for _, p := range problems(src, err) {
			all = append(all, p)
			if (*strict || p.Severity == "error") && code == exitOK {
				code = exitFindings
			}
		}
	}
	if err := write(stdout, all); err != nil {
		fmt.Fprintf(stderr, "redislua: lint: %v\n", err)
		return exitUsage
	}
	return code
}
