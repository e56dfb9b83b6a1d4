package redislua

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
)

// appUserRules limit an ACL user to keys and channels under app: and to
// the commands the library's scripts call (see testbackend.AppUserRules).
var appUserRules = testbackend.AppUserRules

// An ACL user limited to its key prefix and to scripting uses the whole
// library on its keys; nothing needs the default user.
func TestACLUserUsesTheWholeLibrary(t *testing.T) {
	srv := redistest.Start(t)
	app := srv.CreateUser(t, "app", "s3cret", appUserRules...)
	ctx := context.Background()

	reg, err := NewRegistry(includeFS(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.LoadAll(ctx, app); err != nil {
		t.Fatalf("LoadAll as app: %v", err)
	}
	if ok, err := reg.MustScript("charge").Exists(ctx, app); err != nil || !ok {
		t.Fatalf("Exists as app = %v, %v", ok, err)
	}
	if n, err := reg.Run(ctx, app, "charge", []string{"app:acct"}, 5).Int64(); err != nil || n != 5 {
		t.Fatalf("Run as app = %d, %v", n, err)
	}
	if err := OptimizePipelines(app); err != nil {
		t.Fatal(err)
	}
	pipe := app.Pipeline()
	for i := 0; i < 3; i++ {
		reg.Run(ctx, pipe, "charge", []string{"app:acct"}, 1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("pipeline as app: %v", err)
	}
}

// A script touching a key outside the user's pattern fails with ErrNoPerm
// naming the script and line; a key outside it passed in KEYS is refused
// before the script runs.
func TestACLRefusalNamesScriptAndLine(t *testing.T) {
	srv := redistest.Start(t)
	app := srv.CreateUser(t, "app", "s3cret", appUserRules...)
	ctx := context.Background()
	snoop := MustNewScript("snoop", "local mine = redis.call('GET', KEYS[1])\nreturn redis.call('GET', 'other:secret') -- redislua:ignore key-not-from-KEYS")
	err := snoop.Run(ctx, app, []string{"app:x"}).Err()
	var se *ScriptError
	if !errors.Is(err, ErrNoPerm) || !errors.As(err, &se) || se.Script != "snoop" || se.Line != 2 {
		t.Fatalf("err = %v, want ErrNoPerm on snoop line 2", err)
	}
	err = snoop.Run(ctx, app, []string{"other:x"}).Err()
	if !errors.Is(err, ErrNoPerm) {
		t.Fatalf("a key outside the pattern in KEYS: %v, want ErrNoPerm", err)
	}
	flush := MustNewScript("flusher", "return redis.call('FLUSHDB') -- redislua:ignore blocking-command")
	if err := flush.Run(ctx, app, nil).Err(); !errors.Is(err, ErrNoPerm) || !strings.Contains(err.Error(), "flusher") {
		t.Fatalf("a command the user may not run: %v, want ErrNoPerm naming the script", err)
	}
}

// Over TLS with client certificates (mutual TLS): scripts and pipelines
// work (packages lock and transfer check their own calls over TLS).
func TestTLSWithClientCertificates(t *testing.T) {
	srv := redistest.StartTLS(t, &redistest.TLSOptions{MutualTLS: true})
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, TLSConfig: srv.ClientTLSConfig()})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	if err := OptimizePipelines(c); err != nil {
		t.Fatal(err)
	}
	s := MustNewScript("incr", incrSrc)
	c.ScriptFlush(ctx)
	if n, err := s.Run(ctx, c, []string{"tls"}, 2).Int64(); err != nil || n != 2 {
		t.Fatalf("Run over TLS = %d, %v", n, err)
	}
	pipe := c.Pipeline()
	for i := 0; i < 10; i++ {
		s.Run(ctx, pipe, []string{"tls"}, 1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("pipeline over TLS: %v", err)
	}
	if n, _ := c.Get(ctx, "tls").Int(); n != 12 {
		t.Fatalf("tls = %d, want 12", n)
	}

	plain := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	t.Cleanup(func() { _ = plain.Close() })
	if err := s.Run(ctx, plain, []string{"tls"}, 1).Err(); err == nil {
		t.Fatal("a plaintext client ran a script on the TLS port")
	}
}
