package redislua

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/testbackend"
)

// str returns a pointer to s, for table fields where nil means "missing".
func str(s string) *string { return &s }

// wantValue checks that key holds *want, or is missing when want is nil.
func wantValue(t *testing.T, c redis.Cmdable, key string, want *string) {
	t.Helper()
	testbackend.WantValue(t, c, key, want)
}

// pttl returns key's time to live (negative: none, or missing).
func pttl(t *testing.T, c redis.Cmdable, key string) time.Duration {
	t.Helper()
	return testbackend.PTTL(t, c, key)
}
