package redistest

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

// CreateUser creates the ACL user name on the server, or redefines it,
// with ACL SETUSER name reset on >password rules..., and returns a new
// client authenticated as that user, closed in tb.Cleanup. The user has
// exactly the given rules, for example "~app:*", "+eval", "+evalsha",
// "+script|load", "+get": without any it can run no command but AUTH and
// HELLO, and access no key. The user lives until the server restarts.
// CreateUser fails tb if the server refuses a rule.
func (s *Server) CreateUser(tb testing.TB, name, password string, rules ...string) *redis.Client {
	tb.Helper()
	args := []any{"ACL", "SETUSER", name, "reset", "on", ">" + password}
	for _, r := range rules {
		args = append(args, r)
	}
	s.do(tb, args...)
	o := s.options()
	o.Username, o.Password = name, password
	c := redis.NewClient(o)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// do runs one command as the default user on a connection of its own and
// fails tb on an error.
func (s *Server) do(tb testing.TB, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c := redis.NewClient(s.options())
	defer c.Close()
	if err := c.Do(ctx, args...).Err(); err != nil {
		tb.Fatalf("redistest: %s: %v: %v", s.Addr, args, err)
	}
}
