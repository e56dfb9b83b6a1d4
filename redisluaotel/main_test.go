package redisluaotel

import (
	"testing"

	"github.com/redislua/redislua/internal/redistest"
)

// TestMain stops the Redis Cluster the tests share after all tests ran.
func TestMain(m *testing.M) { redistest.Main(m) }
