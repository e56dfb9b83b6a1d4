//go:build unix

package redistest

import (
	"syscall"
	"testing"
)

// Pause stops the server's process with SIGSTOP, as a hung host or a
// black-holed network would: connections stay open and nothing answers.
// Resume, or tb's Cleanup, sends SIGCONT.
func (s *Server) Pause(tb testing.TB) {
	tb.Helper()
	pid := s.Pid()
	if pid == 0 {
		tb.Fatal("redistest: Pause of a server never started")
	}
	tb.Cleanup(s.Resume)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		tb.Fatalf("redistest: pausing %s: %v", s.Addr, err)
	}
}

// Resume sends SIGCONT to a paused server. It does nothing to a server that
// runs or has exited.
func (s *Server) Resume() {
	if pid := s.Pid(); pid != 0 {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
}
