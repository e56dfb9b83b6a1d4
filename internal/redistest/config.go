package redistest

import "testing"

// Config sets configuration parameters of the server with one CONFIG SET
// of name, value pairs, for example
//
//	s.Config(tb, "maxmemory", "1mb", "maxmemory-policy", "noeviction")
//
// Redis applies all of them or none. Config fails tb on an odd number of
// params or an error reply. A Restart restores the values of the command
// line.
func (s *Server) Config(tb testing.TB, params ...string) {
	tb.Helper()
	if len(params) == 0 || len(params)%2 != 0 {
		tb.Fatalf("redistest: Config needs name, value pairs, got %q", params)
	}
	args := []any{"CONFIG", "SET"}
	for _, p := range params {
		args = append(args, p)
	}
	s.do(tb, args...)
}
