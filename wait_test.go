package redislua

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua/internal/redistest"
)

// replicated starts a master with one replica and returns them with a
// client of the master that records the commands it sends.
func replicated(t *testing.T) (master, replica *redistest.Server, b backend) {
	t.Helper()
	master = redistest.Start(t)
	replica = redistest.StartReplica(t, master)
	return master, replica, newBackend(t, "redis", master.Addr, true)
}

var incrScript = MustNewScript("wait-incr", "-- @key counter\nreturn redis.call('INCR', KEYS[1])")

func TestRunAndWait(t *testing.T) {
	_, replica, b := replicated(t)
	ctx := context.Background()
	one := Replicas{N: 1, Timeout: 500 * time.Millisecond}
	if err := incrScript.Load(ctx, b.client); err != nil {
		t.Fatal(err)
	}
	b.sent.Take()

	cmd, err := incrScript.RunAndWait(ctx, b.client, one, []string{"wait:n"})
	if n, cerr := cmd.Int64(); n != 1 || cerr != nil || err != nil {
		t.Fatalf("RunAndWait = %d, %v, %v; want 1, nil, nil", n, cerr, err)
	}
	// One round trip: the script and the WAIT in one pipeline.
	if sent := b.sent.Take(); len(sent) != 2 || sent[0] != "evalsha" || sent[1] != "wait" {
		t.Errorf("sent %v, want the script then wait", sent)
	}
	if got := replica.Client(t).Get(ctx, "wait:n").Val(); got != "1" {
		t.Errorf("replica holds %q right after RunAndWait, want 1", got)
	}

	// A flushed script cache: the pair is sent again with EVAL.
	b.client.ScriptFlush(ctx)
	b.sent.Take()
	cmd, err = incrScript.RunAndWait(ctx, b.client, one, []string{"wait:n"})
	if n, cerr := cmd.Int64(); n != 2 || cerr != nil || err != nil {
		t.Fatalf("after SCRIPT FLUSH: RunAndWait = %d, %v, %v; want 2, nil, nil", n, cerr, err)
	}
	if sent := b.sent.Take(); len(sent) != 4 || sent[0] != "evalsha" || sent[2] != "eval" {
		t.Errorf("after SCRIPT FLUSH sent %v, want evalsha wait eval wait", sent)
	}

	// More replicas than there are: the write stands, the error says so.
	cmd, err = incrScript.RunAndWait(ctx, b.client, Replicas{N: 2, Timeout: 50 * time.Millisecond}, []string{"wait:n"})
	var re *ReplicaError
	if !errors.As(err, &re) || !errors.Is(err, ErrTooFewReplicas) || re.Want != 2 || re.Acked != 1 {
		t.Fatalf("N=2 with one replica: err = %v, want a *ReplicaError 1 of 2", err)
	}
	if n, cerr := cmd.Int64(); n != 3 || cerr != nil {
		t.Errorf("N=2: the script's reply = %d, %v; want 3, nil (it ran)", n, cerr)
	}

	// A script error is the error, whatever the replicas.
	b.client.HSet(ctx, "wait:h", "f", "v")
	if _, err := incrScript.RunAndWait(ctx, b.client, one, []string{"wait:h"}); !errors.Is(err, ErrWrongType) {
		t.Errorf("script error: err = %v, want ErrWrongType", err)
	}
}

// A replica that stops answering (SIGSTOP) makes RunAndWait return a
// *ReplicaError once the timeout passed, with the write applied on the
// master.
func TestRunAndWaitPausedReplica(t *testing.T) {
	_, replica, b := replicated(t)
	ctx := context.Background()
	replica.Pause(t)
	start := time.Now()
	cmd, err := incrScript.RunAndWait(ctx, b.client, Replicas{N: 1, Timeout: 200 * time.Millisecond}, []string{"wait:p"})
	var re *ReplicaError
	if !errors.As(err, &re) || re.Acked != 0 || re.Want != 1 {
		t.Fatalf("paused replica: err = %v, want a *ReplicaError 0 of 1", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("returned after %v, before the 200ms timeout", d)
	}
	if n, cerr := cmd.Int64(); n != 1 || cerr != nil {
		t.Errorf("reply = %d, %v; want 1: the write is on the master", n, cerr)
	}
	wantValue(t, b.client, "wait:p", str("1"))
}

func TestRunAndWaitRefusesBeforeSending(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	t.Cleanup(func() { _ = ring.Close() })
	// A cluster client that has not read the slot map yet (here: cannot):
	// a bad r is refused before it asks a node where the key lives.
	cold := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}, MaxRetries: -1})
	t.Cleanup(func() { _ = cold.Close() })
	cases := []struct {
		name string
		c    redis.Scripter
		r    Replicas
		want error
	}{
		{"no replica", b.client, Replicas{N: 0, Timeout: time.Second}, ErrInvalidReplicas},
		{"negative N", b.client, Replicas{N: -1, Timeout: time.Second}, ErrInvalidReplicas},
		{"zero timeout (WAIT forever)", b.client, Replicas{N: 1}, ErrInvalidReplicas},
		{"timeout past ReadTimeout", b.client, Replicas{N: 1, Timeout: b.client.Options().ReadTimeout}, ErrInvalidReplicas},
		{"ring", ring, Replicas{N: 1, Timeout: time.Second}, ErrWaitUnsupported},
		{"cluster, no replica", cold, Replicas{N: 0, Timeout: time.Second}, ErrInvalidReplicas},
		{"cluster, timeout past ReadTimeout", cold, Replicas{N: 1, Timeout: time.Hour}, ErrInvalidReplicas},
		{"pipeline", b.client.Pipeline(), Replicas{N: 1, Timeout: time.Second}, ErrWaitUnsupported},
	}
	for _, tc := range cases {
		cmd, err := incrScript.RunAndWait(ctx, tc.c, tc.r, []string{"wait:x"})
		if !errors.Is(err, tc.want) || !errors.Is(cmd.Err(), tc.want) {
			t.Errorf("%s: err = %v, cmd.Err() = %v; want %v", tc.name, err, cmd.Err(), tc.want)
		}
	}
	if sent := b.sent.Take(); len(sent) != 0 {
		t.Errorf("sent %v, want nothing", sent)
	}
	// A cluster needs a key to find the master.
	keyless := MustNewScript("wait-keyless", "return 1")
	if _, err := keyless.RunAndWait(ctx, sharedCluster(t), Replicas{N: 1, Timeout: time.Second}, nil); !errors.Is(err, ErrWaitUnsupported) {
		t.Errorf("keyless on a cluster: %v, want ErrWaitUnsupported", err)
	}
}

// On a cluster, the script and the WAIT go to the master of the key's slot,
// whose replica acknowledges.
func TestRunAndWaitOnCluster(t *testing.T) {
	cc := sharedCluster(t)
	ctx := context.Background()
	for _, key := range []string{"wait-cluster:{a}", "wait-cluster:{b}", "wait-cluster:{c}", "wait-cluster:{d}"} {
		cc.Del(ctx, key)
		cmd, err := incrScript.RunAndWait(ctx, cc, Replicas{N: 1, Timeout: time.Second}, []string{key})
		if n, cerr := cmd.Int64(); n != 1 || cerr != nil || err != nil {
			t.Errorf("%s (slot %d): RunAndWait = %d, %v, %v; want 1, nil, nil", key, Slot(key), n, cerr, err)
		}
	}
}

// Check refuses, without sending anything, what RunAndWait would refuse:
// a client it cannot wait on, and a bad N or Timeout; it accepts what
// RunAndWait accepts.
func TestReplicasCheck(t *testing.T) {
	b := realRedis(t)
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": b.client.Options().Addr}})
	t.Cleanup(func() { _ = ring.Close() })
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{b.client.Options().Addr}, ReadTimeout: time.Second})
	t.Cleanup(func() { _ = cluster.Close() })
	ok := Replicas{N: 1, Timeout: 100 * time.Millisecond}
	cases := []struct {
		name string
		c    redis.Scripter
		r    Replicas
		want error // nil: accepted
	}{
		{"client", b.client, ok, nil},
		{"cluster client", cluster, ok, nil},
		{"ring", ring, ok, ErrWaitUnsupported},
		{"pipeline", b.client.Pipeline(), ok, ErrWaitUnsupported},
		{"no replica", b.client, Replicas{Timeout: time.Second}, ErrInvalidReplicas},
		{"zero", b.client, Replicas{}, ErrInvalidReplicas},
		{"no timeout", b.client, Replicas{N: 1}, ErrInvalidReplicas},
		{"timeout past ReadTimeout", b.client, Replicas{N: 1, Timeout: time.Minute}, ErrInvalidReplicas},
		{"timeout past the cluster's ReadTimeout", cluster, Replicas{N: 1, Timeout: time.Second}, ErrInvalidReplicas},
	}
	for _, tc := range cases {
		err := tc.r.Check(tc.c)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: Check = %v, want %v", tc.name, err, tc.want)
		}
		if tc.want != nil && tc.r != (Replicas{}) { // RunAndWait with zero Replicas is Run
			// RunAndWait refuses the same, before sending anything too.
			if _, err := incrScript.RunAndWait(context.Background(), tc.c, tc.r, []string{"check"}); !errors.Is(err, tc.want) {
				t.Errorf("%s: RunAndWait = %v, want %v like Check", tc.name, err, tc.want)
			}
		}
	}
	if sent := b.sent.Take(); len(sent) != 0 {
		t.Errorf("sent %v, want nothing", sent)
	}
}

// An ACL user without +wait: the script runs, WAIT is refused, and the
// error matches ErrNoPerm (it matched nothing), so that callers can tell a
// missing permission from slow replicas.
func TestRunAndWaitWithoutWaitPermission(t *testing.T) {
	master, _, _ := replicated(t)
	app := master.CreateUser(t, "app", "s3cret", appUserRules...)
	ctx := context.Background()
	one := Replicas{N: 1, Timeout: 100 * time.Millisecond}

	cmd, err := incrScript.RunAndWait(ctx, app, one, []string{"app:n"})
	if !errors.Is(err, ErrNoPerm) || errors.Is(err, ErrTooFewReplicas) {
		t.Fatalf("RunAndWait without +wait: err = %v, want ErrNoPerm", err)
	}
	if n, cerr := cmd.Int64(); n != 1 || cerr != nil {
		t.Errorf("the script's reply = %d, %v; want 1, nil (it ran)", n, cerr)
	}

	withWait := master.CreateUser(t, "app2", "s3cret", append([]string{"+wait"}, appUserRules...)...)
	if _, err := incrScript.RunAndWait(ctx, withWait, one, []string{"app:n"}); err != nil {
		t.Errorf("RunAndWait with +wait: %v", err)
	}
}

// A script that writes and returns nil succeeded: its nil reply is on the
// command, and the error beside it still says whether the replicas
// acknowledged the write.
func TestRunAndWaitNilReplyStillWaits(t *testing.T) {
	_, _, b := replicated(t)
	ctx := context.Background()
	setNil := MustNewScript("wait-set-nil", "-- @key k\nredis.call('SET', KEYS[1], 1)\nreturn nil")
	cmd, err := setNil.RunAndWait(ctx, b.client, Replicas{N: 1, Timeout: time.Second}, []string{"wait:nil"})
	if err != nil || cmd.Err() != redis.Nil {
		t.Fatalf("RunAndWait for 1 of 1 replicas = %v (reply error %v), want nil and a nil reply", err, cmd.Err())
	}
	cmd, err = setNil.RunAndWait(ctx, b.client, Replicas{N: 2, Timeout: 10 * time.Millisecond}, []string{"wait:nil"})
	if !errors.Is(err, ErrTooFewReplicas) || cmd.Err() != redis.Nil {
		t.Fatalf("RunAndWait for 2 of 1 replicas = %v (reply error %v), want ErrTooFewReplicas and a nil reply", err, cmd.Err())
	}
}
