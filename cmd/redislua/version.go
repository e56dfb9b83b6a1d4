package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

var versionCommand = command{
	name:     "version",
	synopsis: "",
	about:    "Version prints the module version redislua was built from, or (devel) for a build from a checkout.",
}

// printVersion prints "redislua <version>".
func printVersion(args []string, stdout, stderr io.Writer) int {
	fl := versionCommand.newFlags(stderr)
	pos, code, done := versionCommand.parse(fl, args, false, stdout, stderr)
	if done {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "redislua version: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	fmt.Fprintf(stdout, "redislua %s\n", version())
	return exitOK
}

// version is the main module's version from the build information:
// v1.2.3 after go install ...@v1.2.3, "(devel)" when unknown.
func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
