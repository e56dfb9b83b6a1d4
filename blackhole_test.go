package redislua

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// blackHole is a TCP proxy in front of a server that can stop forwarding:
// once Swallow is called, whatever either side sends is read and dropped,
// so a client's commands get no reply, as over a network that silently
// lost its route. Connections stay open, so only a timeout ends a call.
type blackHole struct {
	ln      net.Listener
	target  string
	swallow atomic.Bool

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

// newBlackHole starts a proxy to target on a free loopback port and stops
// it, closing every connection, in t.Cleanup.
func newBlackHole(t *testing.T, target string) *blackHole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &blackHole{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the address clients dial instead of the server's.
func (p *blackHole) Addr() string { return p.ln.Addr().String() }

// Swallow stops forwarding in both directions, on open and new
// connections alike.
func (p *blackHole) Swallow() { p.swallow.Store(true) }

func (p *blackHole) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(s, c)
		go p.pipe(c, s)
	}
}

// pipe copies from src to dst until src fails, dropping what it reads
// once swallowing.
func (p *blackHole) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.swallow.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			_ = dst.Close()
			return
		}
	}
}

func (p *blackHole) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
