// Command redislua checks, hashes, lists and loads Redis Lua scripts, with
// the same reading and checks the redislua library applies to embedded
// scripts when a program starts.
//
// Usage:
//
//	redislua lint [-strict] [-ignore ID,...] DIR...   print findings; exit 1 on errors (and warnings with -strict)
//	redislua sha DIR...                               print each script's name and SHA1 (after @include)
//	redislua ls DIR...                                print each script's declared keys and args, and each function library's functions
//	redislua load -addr host:port [-cluster] DIR...   load every script (on every node with -cluster)
//	redislua gen [-o file] [-pkg name] [-check] DIR   write typed Go wrappers of DIR's scripts (see docs/gen.md)
//
// Each DIR is read as the library reads an fs.FS: every *.lua file below
// it is a script named by its path below DIR without ".lua" (in DIR lua,
// lua/lock/acquire.lua is "lock/acquire"), except files that another file
// includes. Only regular files are read (a named pipe, or a
// link to a device, is reported, not opened); an include cycle is an error.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  redislua lint [-strict] [-ignore ID,...] DIR...
  redislua sha DIR...
  redislua ls DIR...
  redislua load -addr host:port [-cluster] DIR...
  redislua gen [-o file] [-pkg name] [-check] DIR
`

// run runs one command and returns the process's exit code: 0 success,
// 1 findings or failures, 2 misuse.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "lint":
		return lint(rest, stdout, stderr)
	case "sha":
		return sha(rest, stdout, stderr)
	case "ls":
		return ls(rest, stdout, stderr)
	case "load":
		return load(rest, stdout, stderr)
	case "gen":
		return genCmd(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "redislua: unknown command %q\n%s", cmd, usage)
	return 2
}
