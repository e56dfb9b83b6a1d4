// Package prebuilt holds what the primitive packages (lock, ratelimit,
// transfer, cas) share on top of the engine's public API: the registry of
// the scripts in package lua, and the checks they make before sending.
package prebuilt

import (
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/clients"
	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/lua"
)

// Registry holds the scripts of package lua, read once. They check key
// slots on every client, so that a cross-slot call fails the same way on a
// laptop as on a cluster.
var Registry = mustRegistry()

func mustRegistry() *redislua.Registry {
	reg, err := redislua.NewRegistry(lua.FS, &redislua.RegistryOptions{ClusterChecks: true})
	if err != nil {
		panic("redislua: the library's own scripts are broken: " + err.Error())
	}
	return reg
}

// Script returns the prebuilt script name ("lock/acquire"); it panics if
// there is none, which a test of each package would show.
func Script(name string) *redislua.Script { return Registry.MustScript(name) }

// CheckKey refuses, before anything is sent, a key a primitive cannot
// take: "" (redislua.ErrEmptyKey) and a reserved name
// (redislua.ErrReservedKey). what names the key in the error ("lock key").
func CheckKey(key, what string) error {
	if key == "" {
		return fmt.Errorf("%w: %s", redislua.ErrEmptyKey, what)
	}
	if keyspace.Reserved(key) {
		return fmt.Errorf("%w: %s %s", redislua.ErrReservedKey, what, keyspace.Quote(key))
	}
	return nil
}

// Quote quotes key for an error text (see keyspace.Quote).
func Quote(key string) string { return keyspace.Quote(key) }

// IsNilClient reports whether c is nil or a typed nil pointer.
func IsNilClient(c any) bool { return clients.IsNil(c) }

// CheckDirectClient refuses a nil client (redislua.ErrNilClient) and a
// pipeline (redislua.ErrPipeline) for call, which needs its answer at once.
func CheckDirectClient(c redis.Scripter, call string) error {
	if clients.IsNil(c) {
		return fmt.Errorf("%w: %s", redislua.ErrNilClient, call)
	}
	if _, ok := c.(redis.Pipeliner); ok {
		return fmt.Errorf("%w: %s needs its answer at once", redislua.ErrPipeline, call)
	}
	return nil
}

// Millis returns d in whole milliseconds (rounded down) as a decimal
// string, for PX; a d under one millisecond, the smallest Redis keeps, is
// invalid, wrapped in the caller's sentinel.
func Millis(d time.Duration, invalid error) (string, error) {
	if d < time.Millisecond {
		return "", fmt.Errorf("%w: %v is below 1ms", invalid, d)
	}
	return strconv.FormatInt(d.Milliseconds(), 10), nil
}
