package testbackend

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Value returns key's string value, or ok false when it is missing.
func Value(t testing.TB, c redis.Cmdable, key string) (v string, ok bool) {
	t.Helper()
	v, err := c.Get(context.Background(), key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false
	}
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	return v, true
}

// WantValue checks that key holds *want, or is missing when want is nil.
func WantValue(t testing.TB, c redis.Cmdable, key string, want *string) {
	t.Helper()
	got, ok := Value(t, c, key)
	switch {
	case want == nil && ok:
		t.Errorf("%s = %q, want it missing", key, got)
	case want != nil && !ok:
		t.Errorf("%s is missing, want %q", key, *want)
	case want != nil && got != *want:
		t.Errorf("%s = %q, want %q", key, got, *want)
	}
}

// SetOrDelete makes key hold *v, or be missing when v is nil.
func SetOrDelete(t testing.TB, c redis.Cmdable, key string, v *string) {
	t.Helper()
	ctx := context.Background()
	var err error
	if v == nil {
		err = c.Del(ctx, key).Err()
	} else {
		err = c.Set(ctx, key, *v, 0).Err()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// PTTL returns key's time to live (negative: none, or missing).
func PTTL(t testing.TB, c redis.Cmdable, key string) time.Duration {
	t.Helper()
	d, err := c.PTTL(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
