package redistest

import (
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP proxy in front of a server, for tests of what a client
// sees when the network between them misbehaves: a black hole, a reply
// held back. Each connection's two directions are copied chunk by chunk,
// and a filter sees every chunk before it is written.
type Proxy struct {
	ln     net.Listener
	target string
	filter func() (toServer, toClient Filter)

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

// Filter sees a chunk of one direction of one connection before it is
// written: seen is the chunk with up to 8 bytes of the one before it in
// front, so that a command name split across two reads is found. It
// returns whether to write the chunk (false drops it) and may block to
// hold it back; a blocking filter must be released before the proxy
// closes (register its release with t.Cleanup after starting the proxy).
type Filter func(seen []byte) bool

// StartProxy starts a proxy to target on a free 127.0.0.1 port. For each
// new connection it calls filter to get the connection's two filters (nil
// filter, or nil filters: forward everything). The proxy and its
// connections are closed in tb's Cleanup.
func StartProxy(tb testing.TB, target string, filter func() (toServer, toClient Filter)) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, filter: filter}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.Close)
	return p
}

// Addr is the address clients dial instead of the server's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
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
		var toServer, toClient Filter
		if p.filter != nil {
			toServer, toClient = p.filter()
		}
		p.wg.Add(2)
		go p.pipe(s, c, toServer)
		go p.pipe(c, s, toClient)
	}
}

// pipe copies from src to dst until either fails, through filter.
func (p *Proxy) pipe(dst, src net.Conn, filter Filter) {
	defer p.wg.Done()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	var tail []byte
	for {
		n, err := src.Read(buf)
		if n > 0 {
			forward := filter == nil || filter(append(tail, buf[:n]...))
			tail = append(tail[:0], buf[max(n-8, 0):n]...)
			if forward {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// Close stops the proxy and closes every connection, which ends the calls
// waiting on them. It is idempotent.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
