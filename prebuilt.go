package redislua

import "github.com/redislua/redislua/lua"

// prebuilt is the registry of the library's own scripts (package lua), read
// once. Its scripts check key slots on every client, so that a cross-slot
// call fails the same way on a laptop as on a cluster.
var prebuilt = mustPrebuilt()

func mustPrebuilt() *Registry {
	reg, err := NewRegistry(lua.FS, &RegistryOptions{ClusterChecks: true})
	if err != nil {
		panic("redislua: the library's own scripts are broken: " + err.Error())
	}
	return reg
}
