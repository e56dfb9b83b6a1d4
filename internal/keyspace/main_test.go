package keyspace_test

import (
	"testing"

	"github.com/redislua/redislua/internal/redistest"
)

// TestMain stops the shared Redis Cluster after the tests.
func TestMain(m *testing.M) { redistest.Main(m) }
