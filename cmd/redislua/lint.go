package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/redislua/redislua"
)

// lint prints every finding as "file:line:col: ID message". It exits 1 when
// a script has errors (it would be refused at start-up), or any warning
// under -strict.
func lint(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("lint", flag.ContinueOnError)
	fl.SetOutput(stderr)
	strict := fl.Bool("strict", false, "exit 1 on warnings too")
	ignore := fl.String("ignore", "", "comma-separated finding IDs to skip")
	if err := fl.Parse(args); err != nil || fl.NArg() == 0 {
		fmt.Fprint(stderr, "usage: redislua lint [-strict] [-ignore ID,...] DIR...\n")
		return 2
	}
	var ignored []string
	if *ignore != "" {
		ignored = strings.Split(*ignore, ",")
	}
	code := 0
	for _, dir := range fl.Args() {
		// Strict checks make every finding an error, so one pass reports
		// them all; the severity decides the exit code.
		_, err := openDir(dir, &redislua.RegistryOptions{StrictChecks: true, IgnoredChecks: ignored})
		if err == nil {
			continue
		}
		report(stdout, dir, err)
		if *strict || hasErrors(err) {
			code = 1
		}
	}
	return code
}

// hasErrors reports whether err holds anything but warnings.
func hasErrors(err error) bool {
	for _, e := range leaves(err) {
		var ce *redislua.CheckError
		if !errors.As(e, &ce) {
			return true
		}
		for _, f := range ce.Findings {
			if f.Severity == redislua.SeverityError {
				return true
			}
		}
	}
	return false
}
