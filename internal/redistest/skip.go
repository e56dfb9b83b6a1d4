package redistest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that turns a missing redis binary
// from a skipped test into a failed one.
const RequireEnv = "REDISLUA_REQUIRE_REDIS"

// RequireRedis skips tb, or fails it if [RequireEnv] is set, unless
// redis-server is on PATH.
func RequireRedis(tb testing.TB) {
	tb.Helper()
	requireBinary(tb, "redis-server")
}

// RequireBinary skips tb, or fails it if [RequireEnv] is set, unless the
// named program (redis-benchmark, say) is on PATH.
func RequireBinary(tb testing.TB, name string) {
	tb.Helper()
	requireBinary(tb, name)
}

// requireCluster is RequireRedis for tests that also need redis-cli.
func requireCluster(tb testing.TB) {
	tb.Helper()
	requireBinary(tb, "redis-server")
	requireBinary(tb, "redis-cli")
}

// requireBinary skips or fails tb when the named program is not on PATH.
func requireBinary(tb testing.TB, name string) {
	tb.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	skip, msg := missingBinary(name, required(os.Getenv(RequireEnv)))
	if skip {
		tb.Skip(msg)
	}
	tb.Fatal(msg)
}

// debianPackage names the Debian package that provides each program the
// harness runs.
var debianPackage = map[string]string{
	"redis-server":    "redis-server",
	"redis-cli":       "redis-tools",
	"redis-benchmark": "redis-tools",
	"redis-sentinel":  "redis-sentinel",
	"openssl":         "openssl",
}

// missingBinary decides what to do when the program name is not on PATH:
// skip the test, or fail it when redis is required. msg explains either.
func missingBinary(name string, require bool) (skip bool, msg string) {
	pkg := debianPackage[name]
	if pkg == "" {
		pkg = name
	}
	msg = fmt.Sprintf("%s not found on PATH; install %s (e.g. apt-get install %s) or add its directory to PATH", name, name, pkg)
	if require {
		return false, msg + " (" + RequireEnv + " is set, so this is a failure)"
	}
	return true, msg + " (set " + RequireEnv + "=1 to fail instead of skipping)"
}

// required reports whether the value of RequireEnv asks for redis. Any value
// other than "", "0" and "false" does, so that a typo fails rather than skips.
func required(v string) bool {
	switch v {
	case "", "0", "false", "FALSE", "False":
		return false
	}
	return true
}
