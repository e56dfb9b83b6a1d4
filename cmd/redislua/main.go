// Command redislua checks, hashes, lists and loads Redis Lua scripts, with
// the same reading and checks the redislua library applies to embedded
// scripts when a program starts.
//
// Usage:
//
//	redislua lint [-strict] [-ignore ID,...] [-format text|json|sarif] PATH...
//	redislua sha PATH...
//	redislua ls PATH...
//	redislua load [-addr host:port] [-cluster] [-timeout 10s] PATH...
//	redislua version
//	redislua gen [-o file] [-pkg name] [-check] DIR
//
// Each PATH is a directory, read as the library reads an fs.FS: every
// *.lua file below it is a script named by its path below PATH without
// ".lua" (in PATH lua, lua/lock/acquire.lua is "lock/acquire"), except
// files that another file includes; or one .lua file, read with its
// directory as the root. Only regular files are read (a named pipe, or a
// link to a device, is reported, not opened); an include cycle is an error.
// Flags may come before or after the paths; "redislua CMD -h" describes a
// command.
//
// The exit status is 0 when clean, 1 on findings (errors, or warnings
// with lint -strict) or a script the server refuses, 2 on a usage or tool
// error (a bad flag, a missing path, a server that cannot be reached).
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: redislua <command> [flags] PATH...

commands:
  lint     print the findings of the static checks
  sha      print each script's name and SHA1 (after @include)
  ls       print each script's keys, args and return value, and each library's functions
  load     load every script and function library into Redis
  gen      write typed Go wrappers of a directory's scripts (docs/gen.md)
  version  print redislua's version
  help     print this text, or "help <command>" a command's

Each PATH is a directory of *.lua files or one .lua file. Flags may come
before or after the paths; "redislua <command> -h" lists a command's flags.

` + exitCodes

// run runs one command and returns the process's exit code: 0 clean, 1
// findings or failures, 2 misuse or a tool error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
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
	case "version", "-version", "--version":
		return printVersion(rest, stdout, stderr)
	case "gen":
		return genCmd(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(rest) == 1 && rest[0] != "help" {
			return run([]string{rest[0], "-h"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "redislua: unknown command %q\n%s", cmd, usage)
	return exitUsage
}
