package redistest

import (
	"context"
	"testing"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.Config(t, "maxmemory", "2mb", "busy-reply-threshold", "250")
	got, err := s.Client(t).ConfigGet(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got["maxmemory"] != "2097152" || got["busy-reply-threshold"] != "250" {
		t.Errorf("maxmemory = %q, busy-reply-threshold = %q; want 2097152 and 250", got["maxmemory"], got["busy-reply-threshold"])
	}
	s.Restart(t)
	got, err = s.Client(t).ConfigGet(context.Background(), "busy-reply-threshold").Result()
	if err != nil || got["busy-reply-threshold"] != "5000" {
		t.Errorf("busy-reply-threshold after Restart = %v, %v; want the default 5000", got, err)
	}
}
