package redistest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// certTimeout bounds generating the certificates of a TLS server.
const certTimeout = 30 * time.Second

// TLSServer is a redis-server that accepts only TLS connections (its
// plaintext port is disabled), with the throwaway certificate authority and
// certificates StartTLS made for it. The methods of the embedded Server
// speak TLS: Client returns a TLS client, Stop sends SHUTDOWN over TLS.
type TLSServer struct {
	*Server

	// CACertFile is the PEM certificate of the authority that signed the
	// server and client certificates.
	CACertFile string
	// CertFile and KeyFile are the server's PEM certificate, valid for
	// IP 127.0.0.1, and its key.
	CertFile, KeyFile string
	// ClientCertFile and ClientKeyFile are a PEM client certificate signed
	// by the authority, and its key. ClientTLSConfig uses them for mutual
	// TLS.
	ClientCertFile, ClientKeyFile string
	// MutualTLS reports whether the server demands a client certificate.
	MutualTLS bool
}

// TLSOptions configures StartTLS. The zero value, like nil, means a server
// that does not ask clients for certificates.
type TLSOptions struct {
	// MutualTLS makes the server demand a client certificate signed by its
	// authority (--tls-auth-clients yes).
	MutualTLS bool
	// Args are extra redis-server arguments, as for Start; they must not
	// change --port or --tls-port.
	Args []string
}

// StartTLS generates a certificate authority, a server certificate for
// 127.0.0.1 and a client certificate with openssl (ECDSA P-256, valid for
// a day) in a temporary directory, starts a redis-server there that speaks
// only TLS on a free port of 127.0.0.1, waits until it answers PING over
// TLS and stops it in tb.Cleanup. A nil opts means the zero TLSOptions.
// StartTLS skips or fails tb as RequireRedis does when redis-server or
// openssl is missing.
func StartTLS(tb testing.TB, opts *TLSOptions) *TLSServer {
	tb.Helper()
	requireBinary(tb, "redis-server")
	requireBinary(tb, "openssl")
	var o TLSOptions
	if opts != nil {
		o = *opts
	}
	s, err := startTLS(tb.TempDir(), o)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// startTLS makes the certificates in dir and starts the server there.
func startTLS(dir string, o TLSOptions) (*TLSServer, error) {
	s := &TLSServer{
		CACertFile:     filepath.Join(dir, "ca.crt"),
		CertFile:       filepath.Join(dir, "server.crt"),
		KeyFile:        filepath.Join(dir, "server.key"),
		ClientCertFile: filepath.Join(dir, "client.crt"),
		ClientKeyFile:  filepath.Join(dir, "client.key"),
		MutualTLS:      o.MutualTLS,
	}
	ctx, cancel := context.WithTimeout(context.Background(), certTimeout)
	defer cancel()
	if err := makeCerts(ctx, dir); err != nil {
		return nil, fmt.Errorf("make TLS certificates: %w", err)
	}
	conf, err := s.clientConfig()
	if err != nil {
		return nil, err
	}
	authClients := "no"
	if o.MutualTLS {
		authClients = "yes"
	}
	s.Server, err = launchSpec{
		dir:   dir,
		ports: 1,
		tls:   conf,
		args: func(ports []int, logPath string) []string {
			args := append(baseArgs(dir, 0, logPath), // --port 0: no plaintext
				"--tls-port", strconv.Itoa(ports[0]),
				"--tls-cert-file", s.CertFile,
				"--tls-key-file", s.KeyFile,
				"--tls-ca-cert-file", s.CACertFile,
				"--tls-auth-clients", authClients,
			)
			return append(args, o.Args...)
		},
	}.launch()
	if err != nil {
		return nil, err
	}
	return s, nil
}

// makeCerts writes ca.crt, server.crt, server.key, client.crt and
// client.key into dir, and removes the files only openssl needs.
func makeCerts(ctx context.Context, dir string) error {
	newKey := []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"}
	steps := [][]string{
		append([]string{"req", "-x509", "-days", "1", "-subj", "/CN=redistest CA", "-keyout", "ca.key", "-out", "ca.crt",
			"-addext", "basicConstraints=critical,CA:TRUE",
			"-addext", "keyUsage=critical,keyCertSign,cRLSign"}, newKey...),
	}
	files := map[string]string{
		"server.ext": "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n" +
			"extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
		"client.ext": "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n" +
			"extendedKeyUsage=clientAuth\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return err
		}
	}
	for serial, name := range []string{"server", "client"} {
		steps = append(steps,
			append([]string{"req", "-new", "-subj", "/CN=redistest " + name, "-keyout", name + ".key", "-out", name + ".csr"}, newKey...),
			[]string{"x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
				"-set_serial", strconv.Itoa(serial + 2), "-days", "1", "-extfile", name + ".ext", "-out", name + ".crt"},
		)
	}
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, "openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("openssl %s: %w\n%s", strings.Join(args, " "), err, lastLines(string(out), 20))
		}
	}
	var errs []error
	for _, name := range []string{"ca.key", "server.csr", "client.csr", "server.ext", "client.ext"} {
		errs = append(errs, os.Remove(filepath.Join(dir, name)))
	}
	return errors.Join(errs...)
}

// clientConfig returns the TLS configuration of a client of s: the CA as
// the only root, the server name 127.0.0.1 and, for mutual TLS, the client
// certificate.
func (s *TLSServer) clientConfig() (*tls.Config, error) {
	ca, err := os.ReadFile(s.CACertFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("no certificate in %s", s.CACertFile)
	}
	conf := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if s.MutualTLS {
		cert, err := tls.LoadX509KeyPair(s.ClientCertFile, s.ClientKeyFile)
		if err != nil {
			return nil, err
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// ClientTLSConfig returns a new copy of the TLS configuration a client of
// the server needs, for redis.Options.TLSConfig: RootCAs holds the
// server's authority and, under mutual TLS, Certificates holds the client
// certificate.
func (s *TLSServer) ClientTLSConfig() *tls.Config {
	return s.tlsConfig.Clone()
}
