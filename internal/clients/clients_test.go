package clients

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// IsNil sees a nil interface and a typed nil of every client kind, and
// nothing else.
func TestIsNil(t *testing.T) {
	var (
		client  *redis.Client
		cluster *redis.ClusterClient
		ap      *redis.AutoPipeliner
		ring    *redis.Ring
	)
	for name, c := range map[string]any{"nil": nil, "client": client, "cluster": cluster, "autopipeliner": ap, "ring": ring} {
		if !IsNil(c) {
			t.Errorf("IsNil(%s typed nil) = false, want true", name)
		}
	}
	live := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer live.Close()
	if IsNil(live) {
		t.Error("IsNil(a client) = true, want false")
	}
	if IsNil(live.Pipeline()) {
		t.Error("IsNil(a pipeline) = true, want false")
	}
}
