package ratelimit

import (
	"testing"

	"github.com/redislua/redislua/internal/redistest"
)

// TestMain stops the Redis Cluster that tests share (started on first use
// by testbackend.SharedCluster) after all tests ran.
func TestMain(m *testing.M) { redistest.Main(m) }
