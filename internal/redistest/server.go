package redistest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	startTimeout  = 10 * time.Second       // from exec to a PONG
	stopTimeout   = 5 * time.Second        // from SHUTDOWN to exit, before SIGKILL
	dialTimeout   = 500 * time.Millisecond // per PING, SHUTDOWN or INFO
	pollInterval  = 10 * time.Millisecond  // between readiness probes
	startAttempts = 5                      // ports tried when one is taken meanwhile
	logFileName   = "redis.log"
)

// errAddrInUse marks a start that failed because another process took the
// chosen port between FreePort and redis-server's bind.
var errAddrInUse = errors.New("address already in use")

// Server is one redis-server process listening on 127.0.0.1. Its methods
// are safe for concurrent use.
type Server struct {
	// Addr is "127.0.0.1:Port", ready for a client's Addr option.
	Addr string
	// Port is the TCP port the server listens on; Restart keeps it.
	Port int
	// Dir is the server's working directory (--dir), which holds its log.
	Dir string

	program string   // "" means redis-server; redis-sentinel for a sentinel
	args    []string // the program's arguments, reused by Restart
	logPath string
	// tlsConfig is nil for a plaintext server. For a server that speaks
	// only TLS it is what a client needs, used by the harness's own
	// probes and by Client; it is never modified.
	tlsConfig *tls.Config

	mu   sync.Mutex
	proc *process // the latest process; nil until the first start
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd.Wait has returned
}

// Start starts a standalone redis-server in a temporary directory on a free
// port of 127.0.0.1, waits until it answers PING and stops it in
// tb.Cleanup. extraArgs are appended to redis-server's command line, for
// example "--maxmemory", "1mb"; they must not change --port, --bind or --dir.
// Start skips or fails tb as RequireRedis does when redis-server is missing.
func Start(tb testing.TB, extraArgs ...string) *Server {
	tb.Helper()
	RequireRedis(tb)
	s, err := launch(tb.TempDir(), false, extraArgs)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// launch starts a server in dir on free ports, picking new ones when a port
// turns out to be taken. A cluster node gets a second port for its bus.
func launch(dir string, cluster bool, extraArgs []string) (*Server, error) {
	n := 1
	if cluster {
		n = 2
	}
	return launchSpec{
		dir:   dir,
		ports: n,
		args: func(ports []int, logPath string) []string {
			args := baseArgs(dir, ports[0], logPath)
			if cluster {
				args = append(args, clusterArgs(ports[1])...)
			}
			return append(args, extraArgs...)
		},
	}.launch()
}

// launchSpec says how to start a server of some kind.
type launchSpec struct {
	dir     string      // the server's directory
	program string      // "" means redis-server
	ports   int         // how many free ports args needs
	tls     *tls.Config // for a server that speaks only TLS, its clients' configuration
	// args returns the program's arguments for the free ports and the log
	// file. The server must listen on ports[0].
	args func(ports []int, logPath string) []string
}

// launch starts a server as l says, picking new ports when one turns out
// to be taken.
func (l launchSpec) launch() (*Server, error) {
	var err error
	for range startAttempts {
		var ports []int
		if ports, err = freePorts(l.ports); err != nil {
			return nil, err
		}
		s := &Server{
			Addr:      net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
			Port:      ports[0],
			Dir:       l.dir,
			program:   l.program,
			logPath:   filepath.Join(l.dir, logFileName),
			tlsConfig: l.tls,
		}
		s.args = l.args(ports, s.logPath)

		s.mu.Lock()
		err = s.start()
		s.mu.Unlock()
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errAddrInUse) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("no free port after %d attempts: %w", startAttempts, err)
}

// baseArgs are the arguments every server gets: loopback only, no
// persistence, in the foreground. The last two make replication settle
// fast: a replica syncs at once, and its master pings it every second,
// which moves its offset off 0 (Redis 7 leaves a replica at offset 0 out
// of CLUSTER SLOTS, and the default ping period is 10 s).
func baseArgs(dir string, port int, logPath string) []string {
	return []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--logfile", logPath,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--repl-diskless-sync-delay", "0",
		"--repl-ping-replica-period", "1",
	}
}

// start runs s.program with s.args and waits until it is ready. The
// caller holds s.mu.
func (s *Server) start() error {
	program := s.program
	if program == "" {
		program = "redis-server"
	}
	log, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	offset, err := log.Seek(0, io.SeekEnd)
	if err != nil {
		log.Close()
		return err
	}
	cmd := exec.Command(program, s.args...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = log, log // errors before --logfile applies
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	log.Close()
	if err != nil {
		return fmt.Errorf("start %s: %w", program, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	s.proc = p

	if err := waitReady(s.Addr, s.tlsConfig, p, startTimeout); err != nil {
		p.kill()
		out := s.logSince(offset)
		if errors.Is(err, errAddrInUse) || strings.Contains(out, "Address already in use") {
			err = fmt.Errorf("%w (%v)", errAddrInUse, err)
		}
		return fmt.Errorf("%s on %s: %w\nlog tail:\n%s", program, s.Addr, err, lastLines(out, 20))
	}
	return nil
}

// waitReady polls PING until the server answers, p exits or the timeout
// passes, then checks that the answer came from p and not from another
// process that took the port. tlsConf is as for roundTrip.
func waitReady(addr string, tlsConf *tls.Config, p *process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if p.exited() {
			return errors.New("exited before answering PING")
		}
		reply, err := roundTrip(addr, tlsConf, "PING")
		if (err == nil && reply == "PONG") || isNoAuth(err) {
			return checkPid(addr, tlsConf, p.cmd.Process.Pid)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG within %v (last: %q, %v)", timeout, reply, err)
		}
		select {
		case <-p.done:
		case <-time.After(pollInterval):
		}
	}
}

// checkPid returns errAddrInUse if the server at addr is not process pid.
// A server that demands a password cannot tell; it is taken at its word.
func checkPid(addr string, tlsConf *tls.Config, pid int) error {
	info, err := roundTrip(addr, tlsConf, "INFO", "server")
	if isNoAuth(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("INFO server: %w", err)
	}
	want := "process_id:" + strconv.Itoa(pid)
	for line := range strings.Lines(info) {
		if strings.TrimSpace(line) == want {
			return nil
		}
	}
	return fmt.Errorf("%w: another server answers on %s", errAddrInUse, addr)
}

// Stop shuts the server down with SHUTDOWN NOSAVE NOW, kills it if it does
// not exit in time (or refuses, e.g. for want of a password) and waits for
// the process. Stop is idempotent; Start registers it with tb.Cleanup.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop()
}

// stop is Stop with s.mu held.
func (s *Server) stop() {
	p := s.proc
	if p == nil || p.exited() {
		return
	}
	// A server that shuts down closes the connection without a reply. Any
	// other outcome (NOAUTH, BUSY, a timeout) calls for SIGKILL.
	_, err := roundTrip(s.Addr, s.tlsConfig, "SHUTDOWN", "NOSAVE", "NOW")
	if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		p.kill()
		return
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.kill()
	}
}

// Kill sends SIGKILL to the server's process and waits for it to exit, to
// simulate a crash. Kill is idempotent.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.kill()
	}
}

// Restart stops the server if it is running, then starts a new process on
// the same port, in the same directory, with the same arguments, and waits
// until it answers PING. Nothing is persisted, so the new process starts
// with an empty dataset; a cluster node keeps its identity (nodes.conf).
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop()
	if err := s.start(); err != nil {
		tb.Fatalf("redistest: restart: %v", err)
	}
}

// Pid returns the process id of the latest redis-server process, which may
// have exited.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// LogTail returns the last n lines of the server's log, across restarts.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return lastLines(string(b), n)
}

// logSince returns the log from byte offset on.
func (s *Server) logSince(offset int64) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil || offset > int64(len(b)) {
		return ""
	}
	return string(b[offset:])
}

// Client returns a new client for the server, closed in tb.Cleanup. The
// client speaks TLS to a server started by StartTLS.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(s.options())
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// options returns client options for the server: its address and, for a
// TLS server, a copy of its client TLS configuration.
func (s *Server) options() *redis.Options {
	o := &redis.Options{Addr: s.Addr}
	if s.tlsConfig != nil {
		o.TLSConfig = s.tlsConfig.Clone()
	}
	return o
}

// running reports whether the latest process has been started and has not
// exited.
func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && !s.proc.exited()
}

// exited reports whether the process has exited and been waited for.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL unless the process has exited, and waits for it.
func (p *process) kill() {
	if !p.exited() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
// Another process may take it before it is used, so a caller retries with
// a new port when binding fails.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ports, err := freePorts(1)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	return ports[0]
}

// freePorts returns n distinct ports of 127.0.0.1 that were free a moment
// ago, by listening on port 0 n times before closing any listener.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close() // only after all n are chosen, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// replyError is an error reply from the server.
type replyError string

func (e replyError) Error() string { return string(e) }

// isNoAuth reports whether err is the reply of a server that wants a password.
func isNoAuth(err error) bool {
	var re replyError
	return errors.As(err, &re) && strings.HasPrefix(string(re), "NOAUTH")
}

// roundTrip sends one command on a new connection and reads one reply: a
// simple or bulk string is returned as is, an error reply as a replyError.
// It needs no client library, so it works while go-redis would retry. It
// speaks TLS with the client configuration tlsConf unless that is nil.
func roundTrip(addr string, tlsConf *tls.Config, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return "", err
	}
	defer func() { conn.Close() }() // conn, once TLS wraps it
	if err := conn.SetDeadline(time.Now().Add(dialTimeout)); err != nil {
		return "", err
	}
	if tlsConf != nil {
		tc := tls.Client(conn, tlsConf)
		if err := tc.Handshake(); err != nil {
			return "", err
		}
		conn = tc
	}
	var req strings.Builder
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", replyError(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("unexpected reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
