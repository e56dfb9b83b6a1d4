package transfer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
	"github.com/redislua/redislua/transfer"
)

// The tests in this file run transfers on particular servers: a master
// with a replica, an ACL user, TLS, a server out of memory.

// replicated starts a master with one replica and returns them with a
// client of the master that records the commands it sends.
func replicated(t *testing.T) (master, replica *redistest.Server, b testbackend.Backend) {
	t.Helper()
	master = redistest.Start(t)
	replica = redistest.StartReplica(t, master)
	return master, replica, testbackend.Open(t, "redis", master.Addr, true)
}

// MoveOnce with WaitReplicas: a paused replica gives the applied result
// and a *redislua.ReplicaError; a retry with the same ID once the replica
// is back moves nothing and confirms the replicas have it.
func TestMoveOnceWaitReplicas(t *testing.T) {
	_, replica, b := replicated(t)
	ctx := context.Background()
	from, to := "{bank}:alice", "{bank}:bob"
	b.Client.Set(ctx, from, 100, 0)
	opts := &transfer.Options{WaitReplicas: redislua.Replicas{N: 1, Timeout: 200 * time.Millisecond}}

	res, err := transfer.MoveOnce(ctx, b.Client, from, to, 10, "t1", opts)
	if want := (transfer.Result{From: 90, To: 10, Applied: true}); res != want || err != nil {
		t.Fatalf("healthy replica: %+v, %v; want %+v, nil", res, err, want)
	}

	replica.Pause(t)
	res, err = transfer.MoveOnce(ctx, b.Client, from, to, 10, "t2", opts)
	if want := (transfer.Result{From: 80, To: 20, Applied: true}); res != want || !errors.Is(err, redislua.ErrTooFewReplicas) {
		t.Fatalf("paused replica: %+v, %v; want %+v and ErrTooFewReplicas", res, err, want)
	}
	// Still paused: the retry finds the record, and still cannot confirm.
	res, err = transfer.MoveOnce(ctx, b.Client, from, to, 10, "t2", opts)
	if want := (transfer.Result{From: 80, To: 20}); res != want || !errors.Is(err, redislua.ErrTooFewReplicas) {
		t.Fatalf("retry, replica paused: %+v, %v; want %+v and ErrTooFewReplicas", res, err, want)
	}
	replica.Resume()
	res, err = transfer.MoveOnce(ctx, b.Client, from, to, 10, "t2", opts)
	if want := (transfer.Result{From: 80, To: 20}); res != want || err != nil {
		t.Fatalf("retry, replica back: %+v, %v; want %+v, nil", res, err, want)
	}
	rc := replica.Client(t)
	for key, want := range map[string]string{from: "80", to: "20"} {
		if got := rc.Get(ctx, key).Val(); got != want {
			t.Errorf("replica: %s = %q, want %q", key, got, want)
		}
	}
	if n := rc.Exists(ctx, transfer.RecordKey(from, "t2")).Val(); n != 1 {
		t.Error("replica has no record of t2")
	}
	// A refused transfer is refused, whatever the replicas.
	if _, err := transfer.MoveOnce(ctx, b.Client, from, to, 1000, "t3", opts); !errors.Is(err, transfer.ErrInsufficientFunds) {
		t.Errorf("insufficient funds: %v", err)
	}
}

// A bad WaitReplicas is refused before anything is sent.
func TestMoveOnceBadWaitReplicasSendsNothing(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	opts := &transfer.Options{WaitReplicas: redislua.Replicas{N: 1}} // no timeout: WAIT forever
	if _, err := transfer.MoveOnce(ctx, b.Client, "{bank}:a", "{bank}:b", 1, "id", opts); !errors.Is(err, redislua.ErrInvalidReplicas) {
		t.Errorf("err = %v, want ErrInvalidReplicas", err)
	}
	if sent := b.Sent.Take(); len(sent) != 0 {
		t.Errorf("sent %v, want nothing", sent)
	}
}

// An ACL user without +wait: MoveOnce moves once, and the error matches
// redislua.ErrNoPerm, so that callers can tell a missing permission from
// slow replicas; its retries move nothing and fail the same way.
func TestMoveOnceWithoutWaitPermission(t *testing.T) {
	master, _, _ := replicated(t)
	app := master.CreateUser(t, "app", "s3cret", testbackend.AppUserRules...)
	ctx := context.Background()
	one := redislua.Replicas{N: 1, Timeout: 100 * time.Millisecond}

	from, to := "app:{u1}:a", "app:{u1}:b"
	app.Set(ctx, from, 100, 0)
	opts := &transfer.Options{WaitReplicas: one}
	for i, wantApplied := range []bool{true, false} {
		res, err := transfer.MoveOnce(ctx, app, from, to, 10, "t1", opts)
		if want := (transfer.Result{From: 90, To: 10, Applied: wantApplied}); res != want || !errors.Is(err, redislua.ErrNoPerm) {
			t.Errorf("MoveOnce %d without +wait = %+v, %v; want %+v and ErrNoPerm", i+1, res, err, want)
		}
	}
}

// An ACL user limited to its key prefix and to scripting moves balances
// and records IDs on its keys; nothing needs the default user.
func TestACLUserMoves(t *testing.T) {
	srv := redistest.Start(t)
	app := srv.CreateUser(t, "app", "s3cret", testbackend.AppUserRules...)
	ctx := context.Background()

	app.Set(ctx, "app:{u1}:a", 100, 0)
	if res, err := transfer.Move(ctx, app, "app:{u1}:a", "app:{u1}:b", 40); err != nil || res.From != 60 {
		t.Fatalf("Move as app = %+v, %v", res, err)
	}
	if res, err := transfer.MoveOnce(ctx, app, "app:{u1}:a", "app:{u1}:b", 10, "t1", nil); err != nil || !res.Applied {
		t.Fatalf("MoveOnce as app = %+v, %v", res, err)
	}
}

// Over TLS with client certificates (mutual TLS), transfers work.
func TestMoveOverTLS(t *testing.T) {
	srv := redistest.StartTLS(t, &redistest.TLSOptions{MutualTLS: true})
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, TLSConfig: srv.ClientTLSConfig()})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()

	c.Set(ctx, "tls:{b}:a", 10, 0)
	if res, err := transfer.Move(ctx, c, "tls:{b}:a", "tls:{b}:b", 4); err != nil || res.From != 6 || res.To != 4 {
		t.Fatalf("Move over TLS = %+v, %v", res, err)
	}
}

// With maxmemory reached and noeviction, a transfer fails with
// redislua.ErrOOM and changes nothing. Real Redis only: miniredis has no
// memory limit.
func TestMoveUnderOOMChangesNothing(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	if _, err := transfer.Move(ctx, b.Client, "{oom}:a", "{oom}:b", 0); err == nil {
		t.Fatal("a zero transfer was accepted")
	}
	b.Client.Set(ctx, "{oom}:a", 100, 0)
	b.Client.Set(ctx, "{oom}:b", 5, 0)
	used := b.Client.Info(ctx, "memory").Val()
	if err := b.Client.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.Client.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil { // below what is used
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Client.ConfigSet(context.Background(), "maxmemory", "0") })

	_, err := transfer.Move(ctx, b.Client, "{oom}:a", "{oom}:b", 30)
	if !errors.Is(err, redislua.ErrOOM) {
		t.Fatalf("Move under OOM = %v, want ErrOOM (memory: %.80s)", err, used)
	}
	for key, want := range map[string]string{"{oom}:a": "100", "{oom}:b": "5"} {
		if got := b.Client.Get(ctx, key).Val(); got != want {
			t.Fatalf("%s = %s after a refused transfer, want %s", key, got, want)
		}
	}
}
