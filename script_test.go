package redislua

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestNewScriptRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, scriptName, src string
		want                  error
	}{
		{"empty name", "", "return 1", ErrEmptyName},
		{"empty source", "x", "", ErrEmptySource},
		{"blank source", "x", " \n\t", ErrEmptySource},
		{"syntax error", "x", "return (", ErrSyntax},
		{"unknown shebang flag", "x", "#!lua flags=fast\nreturn 1", ErrSyntax},
		{"unknown shebang engine", "x", "#!python\nreturn 1", ErrSyntax},
		{"readonly header without no-writes shebang", "x", "#!lua\n-- @readonly\nreturn 1", ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewScript(tt.scriptName, tt.src)
			if !errors.Is(err, tt.want) || s != nil {
				t.Fatalf("NewScript(%q, %q) = %v, %v; want nil, %v", tt.scriptName, tt.src, s, err, tt.want)
			}
		})
	}
}

func TestNewScriptSyntaxErrorNamesScriptAndLine(t *testing.T) {
	_, err := NewScript("counter", "local a = 1\nlocal b = = 2\nreturn a")
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *SyntaxError", err)
	}
	if se.Script != "counter" || se.Line != 2 {
		t.Errorf("got script %q line %d, want counter line 2", se.Script, se.Line)
	}
	if !strings.HasPrefix(err.Error(), "redislua: counter:2:") {
		t.Errorf("message %q does not start with the file and line", err)
	}
}

func TestScriptFlagsAndReadOnly(t *testing.T) {
	tests := []struct {
		src       string
		wantFlags []string
		wantRO    bool
	}{
		{"return 1", nil, false},
		{"#!lua\nreturn 1", nil, false},
		{"#!lua flags=no-writes,allow-stale\nreturn 1", []string{"no-writes", "allow-stale"}, true},
		{"#!lua flags=allow-oom\nreturn 1", []string{"allow-oom"}, false},
		{"-- Reads a counter.\n-- @readonly\nreturn redis.call('GET', KEYS[1])", nil, true},
		{"#!lua flags=no-writes\n-- @readonly\nreturn 1", []string{"no-writes"}, true},
	}
	for _, tt := range tests {
		s := MustNewScript("s", tt.src)
		if got := s.Flags(); !reflect.DeepEqual(got, tt.wantFlags) {
			t.Errorf("Flags() of %q = %v, want %v", tt.src, got, tt.wantFlags)
		}
		if got := s.ReadOnly(); got != tt.wantRO {
			t.Errorf("ReadOnly() of %q = %v, want %v", tt.src, got, tt.wantRO)
		}
	}
}

func TestFlagsReturnsACopy(t *testing.T) {
	s := MustNewScript("s", "#!lua flags=no-writes\nreturn 1")
	s.Flags()[0] = "changed"
	if got := s.Flags()[0]; got != "no-writes" {
		t.Fatalf("Flags()[0] = %q after the caller changed its copy", got)
	}
}

func TestMustNewScriptPanicsOnError(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("MustNewScript did not panic on a syntax error")
		}
	}()
	MustNewScript("bad", "return (")
}

// The SHA must be what the server computes, or every EVALSHA misses.
func TestSHAEqualsScriptLoad(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		for _, src := range []string{"return 1", "return 'héllo ✓'\n", "-- @readonly\nreturn KEYS[1]"} {
			s := MustNewScript("s", src)
			got, err := b.client.ScriptLoad(ctx, src).Result()
			if err != nil {
				t.Fatal(err)
			}
			if got != s.SHA() {
				t.Errorf("SHA() = %s, SCRIPT LOAD = %s", s.SHA(), got)
			}
		}
	})
}

func TestLoadAndExists(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := MustNewScript("s", "return 42")
		if ok, err := s.Exists(ctx, b.client); err != nil || ok {
			t.Fatalf("Exists before Load = %v, %v; want false, nil", ok, err)
		}
		if err := s.Load(ctx, b.client); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Exists(ctx, b.client); err != nil || !ok {
			t.Fatalf("Exists after Load = %v, %v; want true, nil", ok, err)
		}
		if _, err := s.Exists(ctx, b.client.Pipeline()); !errors.Is(err, ErrPipeline) {
			t.Fatalf("Exists in a pipeline = %v, want ErrPipeline", err)
		}
	})
}

func TestNilClientIsAnErrorNotAPanic(t *testing.T) {
	ctx := context.Background()
	s := MustNewScript("s", "return 1")
	var typedNil *redis.Client
	for _, c := range []redis.Scripter{nil, typedNil, (*redis.ClusterClient)(nil), (*redis.Ring)(nil)} {
		if err := s.Run(ctx, c, nil).Err(); !errors.Is(err, ErrNilClient) {
			t.Errorf("Run(%T) = %v, want ErrNilClient", c, err)
		}
		if err := s.Load(ctx, c); !errors.Is(err, ErrNilClient) {
			t.Errorf("Load(%T) = %v, want ErrNilClient", c, err)
		}
		if _, err := s.Exists(ctx, c); !errors.Is(err, ErrNilClient) {
			t.Errorf("Exists(%T) = %v, want ErrNilClient", c, err)
		}
	}
}

func TestEmptyKeyIsRefusedBeforeSending(t *testing.T) {
	b := forMiniredis(t)
	err := MustNewScript("s", "return 1").Run(context.Background(), b.client, []string{"a", ""}).Err()
	if !errors.Is(err, ErrEmptyKey) || !strings.Contains(err.Error(), "KEYS[2]") {
		t.Fatalf("err = %v, want ErrEmptyKey naming KEYS[2]", err)
	}
	if sent := b.sent.Take(); len(sent) != 0 {
		t.Fatalf("sent %v, want nothing", sent)
	}
}

const transferHeader = `-- Moves an amount between two balances.
-- @key from     balance to debit
-- @key to       balance to credit
-- @arg amount   positive integer
-- @arg [id]     transfer ID
-- @return the new balance of from
return redis.call('INCRBY', KEYS[1], ARGV[1])
`

func TestHeaderIsReadIntoTheScript(t *testing.T) {
	s := MustNewScript("transfer", transferHeader)
	if got := fmt.Sprint(s.Keys()); got != "[{from balance to debit false false} {to balance to credit false false}]" {
		t.Errorf("Keys() = %s", got)
	}
	if got := fmt.Sprint(s.Args()); got != "[{amount positive integer false false} {id transfer ID true false}]" {
		t.Errorf("Args() = %s", got)
	}
	if s.Description() != "Moves an amount between two balances." || s.Returns() != "the new balance of from" {
		t.Errorf("Description() = %q, Returns() = %q", s.Description(), s.Returns())
	}
}
