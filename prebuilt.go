package redislua

import "embed"

// prebuiltFS holds the library's own scripts (lua/), run by the typed
// wrappers (compare-and-swap, lock, transfer, rate limiter).
//
//go:embed lua
var prebuiltFS embed.FS

// prebuilt is the registry of the library's own scripts, read once. Its
// scripts check key slots on every client, so that a cross-slot call fails
// the same way on a laptop as on a cluster.
var prebuilt = mustPrebuilt()

func mustPrebuilt() *Registry {
	reg, err := NewRegistry(prebuiltFS, WithClusterChecks())
	if err != nil {
		panic("redislua: the library's own scripts are broken: " + err.Error())
	}
	return reg
}
