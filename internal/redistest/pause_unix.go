//go:build unix

package redistest

import (
	"errors"
	"syscall"
	"testing"
)

// Pause stops the server's process with SIGSTOP, as a hung host or a
// black-holed network would: connections stay open and nothing answers.
// Resume, or tb's Cleanup, sends SIGCONT.
func (s *Server) Pause(tb testing.TB) {
	tb.Helper()
	tb.Cleanup(s.Resume)
	if err := s.signal(syscall.SIGSTOP); err != nil {
		tb.Fatalf("redistest: pausing %s: %v", s.Addr, err)
	}
}

// Resume sends SIGCONT to a paused server. It does nothing to a server that
// runs or has exited.
func (s *Server) Resume() { _ = s.signal(syscall.SIGCONT) }

// signal sends sig to the latest process, unless it has exited: through
// os.Process, never to a pid another process may have taken since.
func (s *Server) signal(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return errors.New("server never started")
	}
	if s.proc.exited() {
		return errors.New("server has exited")
	}
	return s.proc.cmd.Process.Signal(sig)
}
