package luasrc

import (
	"sort"
	"strings"
)

// include is one @include line: the file it names, and where it is.
type include struct {
	to string
	at Loc
}

// Libraries sorts a set of files (path to text) into scripts and
// libraries: a file that another file includes is a library, inlined into
// its includers rather than a script of its own. It returns the libraries,
// and an *IncludeError for each include cycle that no script reaches (a
// file that includes itself, or files that include each other and that
// nothing else includes). Without it the files of such a cycle would all
// be libraries and vanish: Expand reports only the cycles it meets while
// expanding a script. Each error names the include line that closes the
// cycle, and Cycle runs from a file of the cycle back to it.
func Libraries(files map[string]string) (libs map[string]bool, cycles []*IncludeError) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	edges := make(map[string][]include, len(files))
	libs = map[string]bool{}
	for _, name := range names {
		if !strings.Contains(files[name], "@include") {
			continue
		}
		for i, l := range splitLines(files[name]) {
			target, ok, err := IncludeTarget(l.text)
			if !ok || err != nil {
				continue // Expand reports it, from the script
			}
			to := IncludePath(name, target)
			libs[to] = true
			if _, known := files[to]; known {
				edges[name] = append(edges[name], include{to: to, at: Loc{File: name, Line: i + 1}})
			}
		}
	}

	// Everything a script includes, directly or not, is Expand's to check.
	reached := map[string]bool{}
	var reach func(string)
	reach = func(name string) {
		if reached[name] {
			return
		}
		reached[name] = true
		for _, e := range edges[name] {
			reach(e.to)
		}
	}
	for _, name := range names {
		if !libs[name] {
			reach(name)
		}
	}

	// What is left holds a cycle: find each by depth-first search, in
	// name and line order so that the errors are the same every time.
	const (
		unvisited = iota
		onStack
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(string)
	visit = func(name string) {
		state[name] = onStack
		stack = append(stack, name)
		for _, e := range edges[name] {
			switch {
			case reached[e.to]:
				// a script includes it too: Expand checks it
			case state[e.to] == unvisited:
				visit(e.to)
			case state[e.to] == onStack:
				from := len(stack) - 1
				for stack[from] != e.to {
					from--
				}
				chain := append(append([]string(nil), stack[from:]...), e.to)
				cycles = append(cycles, cycleError(e.at, chain))
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
	}
	for _, name := range names {
		if !reached[name] && state[name] == unvisited {
			visit(name)
		}
	}
	return libs, cycles
}
