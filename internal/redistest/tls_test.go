package redistest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestTLS(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		mutual bool
	}{
		{"server-auth", false},
		{"mutual", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			begin := time.Now()
			s := StartTLS(t, &TLSOptions{MutualTLS: tt.mutual})
			t.Logf("TLS server (mutual %v) ready in %v", tt.mutual, time.Since(begin))

			conf := s.ClientTLSConfig()
			if conf.RootCAs == nil || (len(conf.Certificates) == 1) != tt.mutual {
				t.Fatalf("ClientTLSConfig has RootCAs %v and %d certificates; want a pool, and a certificate for mutual TLS only", conf.RootCAs, len(conf.Certificates))
			}
			for name, c := range map[string]*redis.Client{
				"Client":          s.Client(t),
				"ClientTLSConfig": oneShotClient(t, &redis.Options{Addr: s.Addr, TLSConfig: conf}),
			} {
				if got, err := c.Ping(ctx).Result(); err != nil || got != "PONG" {
					t.Errorf("%s: PING = %q, %v; want PONG", name, got, err)
				}
				if got, err := c.Eval(ctx, "return ARGV[1]", nil, "tls").Result(); err != nil || got != "tls" {
					t.Errorf("%s: EVAL = %v, %v; want tls", name, got, err)
				}
			}
			// The server's --port is 0.
			if got, err := s.Client(t).ConfigGet(ctx, "port").Result(); err != nil || got["port"] != "0" {
				t.Errorf("CONFIG GET port = %v, %v; want 0", got, err)
			}

			plain := oneShotClient(t, &redis.Options{Addr: s.Addr})
			if err := plain.Ping(ctx).Err(); err == nil {
				t.Error("plaintext PING succeeded, want an error")
			} else {
				t.Logf("plaintext client: %v", err)
			}

			noCert := s.ClientTLSConfig()
			noCert.Certificates = nil
			err := oneShotClient(t, &redis.Options{Addr: s.Addr, TLSConfig: noCert}).Ping(ctx).Err()
			switch {
			case tt.mutual && err == nil:
				t.Error("PING without a client certificate succeeded under mutual TLS, want an error")
			case tt.mutual:
				t.Logf("client without certificate: %v", err)
			case err != nil:
				t.Errorf("PING without a client certificate: %v, want PONG", err)
			}

			untrusted := s.ClientTLSConfig()
			untrusted.RootCAs = nil // the system roots do not hold the throwaway CA
			err = oneShotClient(t, &redis.Options{Addr: s.Addr, TLSConfig: untrusted}).Ping(ctx).Err()
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Errorf("PING with the system roots = %v, want a certificate error", err)
			}

			// Stop shuts the server down over TLS rather than killing it.
			pid := s.Pid()
			s.Stop()
			assertGone(t, s.Server, pid)
			if !strings.Contains(s.LogTail(5), "ready to exit") {
				t.Errorf("log tail after Stop = %q, want a clean shutdown", s.LogTail(5))
			}
		})
	}
}

// oneShotClient returns a client that tries once, closed in t.Cleanup.
func oneShotClient(t *testing.T, o *redis.Options) *redis.Client {
	t.Helper()
	o.MaxRetries = -1
	o.DialTimeout = 2 * time.Second
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestTLSRestart(t *testing.T) {
	t.Parallel()
	s := StartTLS(t, nil)
	s.Restart(t)
	if err := s.Client(t).Ping(context.Background()).Err(); err != nil {
		t.Errorf("PING after Restart: %v", err)
	}
}
