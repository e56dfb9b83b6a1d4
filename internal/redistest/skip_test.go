package redistest

import (
	"strings"
	"testing"
)

func TestMissingBinary(t *testing.T) {
	tests := []struct {
		name     string
		require  bool
		wantSkip bool
		wantMsg  []string
	}{
		{"redis-server", false, true, []string{"redis-server not found on PATH", "install redis-server", "set REDISLUA_REQUIRE_REDIS=1 to fail"}},
		{"redis-server", true, false, []string{"redis-server not found on PATH", "install redis-server", "REDISLUA_REQUIRE_REDIS is set"}},
		{"redis-cli", false, true, []string{"redis-cli not found on PATH"}},
		{"redis-cli", true, false, []string{"redis-cli not found on PATH", "apt-get install redis-tools"}},
		{"redis-sentinel", false, true, []string{"redis-sentinel not found on PATH", "apt-get install redis-sentinel"}},
		{"redis-benchmark", true, false, []string{"redis-benchmark not found on PATH", "apt-get install redis-tools", "REDISLUA_REQUIRE_REDIS is set"}},
		{"openssl", true, false, []string{"openssl not found on PATH", "apt-get install openssl", "REDISLUA_REQUIRE_REDIS is set"}},
	}
	for _, tt := range tests {
		skip, msg := missingBinary(tt.name, tt.require)
		if skip != tt.wantSkip {
			t.Errorf("missingBinary(%q, %v) skip = %v, want %v", tt.name, tt.require, skip, tt.wantSkip)
		}
		for _, want := range tt.wantMsg {
			if !strings.Contains(msg, want) {
				t.Errorf("missingBinary(%q, %v) msg = %q, want it to contain %q", tt.name, tt.require, msg, want)
			}
		}
	}
}

func TestRequired(t *testing.T) {
	tests := []struct {
		env  string
		want bool
	}{
		{"", false},
		{"0", false},
		{"false", false},
		{"1", true},
		{"true", true},
		{"yes", true}, // a typo must fail loudly, not skip quietly
	}
	for _, tt := range tests {
		if got := required(tt.env); got != tt.want {
			t.Errorf("required(%q) = %v, want %v", tt.env, got, tt.want)
		}
	}
}

func TestRequireBinaryPresent(t *testing.T) {
	// Must neither skip nor fail when the binary exists; "go" is on PATH
	// wherever these tests run.
	requireBinary(t, "go")
}
