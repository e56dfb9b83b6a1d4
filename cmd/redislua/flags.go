package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes of every command.
const (
	exitOK       = 0 // clean; the command did its work
	exitFindings = 1 // findings, or a script or library that does not load
	exitUsage    = 2 // a bad flag or argument, a missing path, an unreachable server
)

// exitCodes is the table the usage texts end with.
const exitCodes = `exit status:
  0  clean: no findings, the command did its work
  1  findings: errors, or warnings with lint -strict; a script or library
     that does not load, or that the server refuses
  2  usage or tool error: a bad flag, no PATH, a missing file or directory,
     an unreachable server
`

// command describes a subcommand for its -h text.
type command struct {
	name     string // "lint"
	synopsis string // flags and arguments after the name
	about    string // what it does, a few lines
}

// newFlags returns the flag set of cmd. Errors go to stderr; the -h text
// is printed by parse.
func (cmd command) newFlags(stderr io.Writer) *flag.FlagSet {
	fl := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {} // parse prints the help or the usage line itself
	return fl
}

// parse parses args with flags in any position: "load lua -addr X" means
// "load -addr X lua". Arguments after "--" are all positional. It returns
// the positional arguments, or done with the exit code when the command
// must stop: 0 after printing the help for -h or --help, 2 after a bad
// flag or no positional argument when need is set.
func (cmd command) parse(fl *flag.FlagSet, args []string, need bool, stdout, stderr io.Writer) (pos []string, code int, done bool) {
	for {
		err := fl.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			cmd.help(fl, stdout)
			return nil, exitOK, true
		}
		if err != nil { // flag has printed what is wrong
			fmt.Fprintf(stderr, "usage: redislua %s %s\n", cmd.name, cmd.synopsis)
			return nil, exitUsage, true
		}
		rest := fl.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	if need && len(pos) == 0 {
		fmt.Fprintf(stderr, "redislua %s: no PATH given\nusage: redislua %s %s\n", cmd.name, cmd.name, cmd.synopsis)
		return nil, exitUsage, true
	}
	return pos, exitOK, false
}

// help prints what cmd does, its flags and the exit codes.
func (cmd command) help(fl *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "%s\n\n%s\n", strings.TrimSpace("usage: redislua "+cmd.name+" "+cmd.synopsis), strings.TrimSpace(cmd.about))
	n := 0
	fl.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nflags:\n")
		fl.SetOutput(w)
		fl.PrintDefaults()
	}
	fmt.Fprint(w, "\n"+exitCodes)
}
