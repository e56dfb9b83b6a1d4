// Package clients holds checks on the go-redis clients callers pass in,
// shared by the engine and the prebuilt primitives.
package clients

import (
	"reflect"

	"github.com/redis/go-redis/v9"
)

// IsNil reports whether c is nil or a typed nil pointer (a nil
// *redis.Client in a redis.Scripter), which go-redis would panic on.
func IsNil(c any) bool {
	switch v := c.(type) {
	case nil:
		return true
	case *redis.Client: // the common clients, without reflection
		return v == nil
	case *redis.ClusterClient:
		return v == nil
	case *redis.AutoPipeliner:
		return v == nil
	}
	v := reflect.ValueOf(c)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
