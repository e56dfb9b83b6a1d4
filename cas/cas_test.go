package cas_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/cas"
	"github.com/redislua/redislua/internal/keyspace"
	"github.com/redislua/redislua/internal/prebuilt"
	"github.com/redislua/redislua/internal/redistest"
	"github.com/redislua/redislua/internal/testbackend"
)

// TestMain stops the Redis Cluster that tests share (started on first use
// by testbackend.SharedCluster) after all tests ran.
func TestMain(m *testing.M) { redistest.Main(m) }

// str returns a pointer to s, for table fields where nil means "missing".
func str(s string) *string { return &s }

var casCases = []struct {
	name              string
	initial           *string // nil: the key is missing
	expected, desired string
	want              bool
}{
	{"match", str("a"), "a", "b", true},
	{"mismatch", str("a"), "x", "b", false},
	{"missing key never matches", nil, "a", "b", false},
	{"missing key does not match empty", nil, "", "b", false},
	{"empty value matches empty", str(""), "", "b", true},
	{"swap to empty", str("a"), "a", "", true},
	{"binary match", str("\x00\xff"), "\x00\xff", "\xff\x00", true},
	{"binary prefix does not match", str("a\x00b"), "a", "c", false},
	{"longer expected does not match", str("a"), "a\x00", "c", false},
	{"case matters", str("Pending"), "pending", "active", false},
}

func TestSwap(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		for _, tc := range casCases {
			key := "{cas}:" + tc.name
			testbackend.SetOrDelete(t, b.Client, key, tc.initial)
			got, err := cas.Swap(ctx, b.Client, key, tc.expected, tc.desired, nil)
			if err != nil || got != tc.want {
				t.Errorf("%s: Swap = %v, %v; want %v, nil", tc.name, got, err, tc.want)
			}
			want := tc.initial
			if tc.want {
				want = &tc.desired
			}
			testbackend.WantValue(t, b.Client, key, want)
		}
	})
}

func TestDelete(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		for _, tc := range casCases {
			key := "{cad}:" + tc.name
			testbackend.SetOrDelete(t, b.Client, key, tc.initial)
			got, err := cas.Delete(ctx, b.Client, key, tc.expected)
			if err != nil || got != tc.want {
				t.Errorf("%s: Delete = %v, %v; want %v, nil", tc.name, got, err, tc.want)
			}
			want := tc.initial
			if tc.want {
				want = nil
			}
			testbackend.WantValue(t, b.Client, key, want)
		}
	})
}

// Without a TTL option a swap keeps the key's TTL (KEEPTTL), and with one it
// sets it. Checked on real Redis, whose clock runs, and on miniredis.
func TestSwapTTL(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		key := "{cas}:ttl"
		if err := b.Client.Set(ctx, key, "v1", 100*time.Second).Err(); err != nil {
			t.Fatal(err)
		}
		if ok, err := cas.Swap(ctx, b.Client, key, "v1", "v2", nil); !ok || err != nil {
			t.Fatalf("Swap = %v, %v", ok, err)
		}
		if d := testbackend.PTTL(t, b.Client, key); d <= 90*time.Second || d > 100*time.Second {
			t.Errorf("PTTL after a swap without TTL = %v, want the old ~100s kept", d)
		}
		if ok, err := cas.Swap(ctx, b.Client, key, "v2", "v3", &cas.Options{TTL: 5 * time.Second}); !ok || err != nil {
			t.Fatalf("Swap with TTL = %v, %v", ok, err)
		}
		if d := testbackend.PTTL(t, b.Client, key); d <= 0 || d > 5*time.Second {
			t.Errorf("PTTL after a swap with TTL 5s = %v, want (0, 5s]", d)
		}
		// A failed swap changes no TTL.
		if ok, err := cas.Swap(ctx, b.Client, key, "nope", "v4", &cas.Options{TTL: time.Hour}); ok || err != nil {
			t.Fatalf("mismatched Swap = %v, %v", ok, err)
		}
		if d := testbackend.PTTL(t, b.Client, key); d > 5*time.Second {
			t.Errorf("PTTL after a failed swap = %v, want still <= 5s", d)
		}
		// A key without TTL stays without.
		persistent := "{cas}:persistent"
		b.Client.Set(ctx, persistent, "a", 0)
		if ok, err := cas.Swap(ctx, b.Client, persistent, "a", "b", &cas.Options{}); !ok || err != nil {
			t.Fatalf("Swap = %v, %v", ok, err)
		}
		if d := testbackend.PTTL(t, b.Client, persistent); d != -1 {
			t.Errorf("PTTL = %v, want -1 (no expiry)", d)
		}
	})
}

// Options.TTL goes to Redis in whole milliseconds, rounded down; under 1ms
// it is ErrInvalidTTL.
func TestMillisRoundsDown(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{time.Millisecond, "1"},
		{1500 * time.Microsecond, "1"},
		{2*time.Millisecond - 1, "1"},
		{time.Hour, "3600000"},
		{math.MaxInt64, strconv.FormatInt(math.MaxInt64/int64(time.Millisecond), 10)},
	}
	for _, tt := range tests {
		if got, err := prebuilt.Millis(tt.d, cas.ErrInvalidTTL); got != tt.want || err != nil {
			t.Errorf("Millis(%v) = %q, %v; want %q", tt.d, got, err, tt.want)
		}
	}
	for _, d := range []time.Duration{-time.Second, -1, 1, time.Millisecond - 1} {
		if _, err := prebuilt.Millis(d, cas.ErrInvalidTTL); !errors.Is(err, cas.ErrInvalidTTL) {
			t.Errorf("Millis(%v) err = %v, want cas.ErrInvalidTTL", d, err)
		}
	}
}

func TestSwapMany(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		for i, v := range []string{"pending", "pending", "pending", "done"} {
			b.Client.Set(ctx, "{jobs}:"+strconv.Itoa(i+1), v, 0)
		}
		keys := []string{"{jobs}:1", "{jobs}:2", "{jobs}:3", "{jobs}:4", "{jobs}:missing", "{jobs}:1"}
		n, err := cas.SwapMany(ctx, b.Client, keys, "pending", "active", nil)
		if n != 3 || err != nil {
			t.Fatalf("SwapMany = %d, %v; want 3, nil (a key listed twice counts once)", n, err)
		}
		for key, want := range map[string]*string{
			"{jobs}:1": str("active"), "{jobs}:2": str("active"), "{jobs}:3": str("active"),
			"{jobs}:4": str("done"), "{jobs}:missing": nil,
		} {
			testbackend.WantValue(t, b.Client, key, want)
		}
		if n, err := cas.SwapMany(ctx, b.Client, keys, "pending", "active", nil); n != 0 || err != nil {
			t.Fatalf("second SwapMany = %d, %v; want 0, nil", n, err)
		}
		// Binary and empty values.
		b.Client.Set(ctx, "{jobs}:bin", "\x00\xff", 0)
		b.Client.Set(ctx, "{jobs}:empty", "", 0)
		if n, err := cas.SwapMany(ctx, b.Client, []string{"{jobs}:bin", "{jobs}:empty"}, "\x00\xff", "", nil); n != 1 || err != nil {
			t.Fatalf("SwapMany of binary values = %d, %v; want 1, nil", n, err)
		}
		testbackend.WantValue(t, b.Client, "{jobs}:bin", str(""))
		if n, err := cas.SwapMany(ctx, b.Client, []string{"{jobs}:bin", "{jobs}:empty"}, "", "x", nil); n != 2 || err != nil {
			t.Fatalf("SwapMany of empty values = %d, %v; want 2, nil", n, err)
		}
	})
}

func TestSwapManyTTLOnlyOnKeysSet(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		b.Client.Set(ctx, "{lease}:a", "free", time.Hour)
		b.Client.Set(ctx, "{lease}:b", "taken", time.Hour)
		n, err := cas.SwapMany(ctx, b.Client, []string{"{lease}:a", "{lease}:b"}, "free", "taken", &cas.Options{TTL: 10 * time.Second})
		if n != 1 || err != nil {
			t.Fatalf("SwapMany = %d, %v; want 1, nil", n, err)
		}
		if d := testbackend.PTTL(t, b.Client, "{lease}:a"); d <= 0 || d > 10*time.Second {
			t.Errorf("PTTL of the key set = %v, want (0, 10s]", d)
		}
		if d := testbackend.PTTL(t, b.Client, "{lease}:b"); d <= 10*time.Second {
			t.Errorf("PTTL of the key left alone = %v, want its old ~1h", d)
		}
	})
}

// Every key is read before any is written, so a key of the wrong type
// fails the call without changing the keys before it.
func TestSwapManyWrongTypeChangesNothing(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		b.Client.Set(ctx, "{jobs}:1", "pending", 0)
		b.Client.RPush(ctx, "{jobs}:2", "pending")
		b.Client.Set(ctx, "{jobs}:3", "pending", 0)
		n, err := cas.SwapMany(ctx, b.Client, []string{"{jobs}:1", "{jobs}:2", "{jobs}:3"}, "pending", "active", nil)
		var se *redislua.ScriptError
		if !errors.As(err, &se) || !errors.Is(err, redislua.ErrWrongType) || n != 0 {
			t.Fatalf("SwapMany = %d, %v; want 0 and a *redislua.ScriptError (WRONGTYPE)", n, err)
		}
		testbackend.WantValue(t, b.Client, "{jobs}:1", str("pending"))
		testbackend.WantValue(t, b.Client, "{jobs}:3", str("pending"))
		if ok, err := cas.Swap(ctx, b.Client, "{jobs}:2", "pending", "active", nil); ok || !errors.Is(err, redislua.ErrWrongType) {
			t.Errorf("Swap on a list = %v, %v; want false, redislua.ErrWrongType", ok, err)
		}
		if ok, err := cas.Delete(ctx, b.Client, "{jobs}:2", "pending"); ok || !errors.Is(err, redislua.ErrWrongType) {
			t.Errorf("Delete on a list = %v, %v; want false, redislua.ErrWrongType", ok, err)
		}
		if n := b.Client.LLen(ctx, "{jobs}:2").Val(); n != 1 {
			t.Errorf("the list has %d elements, want 1", n)
		}
	})
}

func TestFencedSet(t *testing.T) {
	const big = 1 << 53 // above it, doubles skip odd integers
	steps := []struct {
		fence     int64
		value     string
		want      bool
		wantValue string // the value after the step
		wantFence int64  // the highest fence after the step
	}{
		{5, "a", true, "a", 5},
		{4, "stale", false, "a", 5},
		{5, "b", true, "b", 5}, // an equal fence is accepted
		{6, "", true, "", 6},   // an empty value is a value
		{-7, "stale", false, "", 6},
		{big + 1, "\x00\xff", true, "\x00\xff", big + 1},
		{big, "stale", false, "\x00\xff", big + 1}, // equal to big+1 as doubles
		{big + 2, "c", true, "c", big + 2},
		{math.MaxInt64 - 1, "d", true, "d", math.MaxInt64 - 1},
		{math.MaxInt64 - 2, "stale", false, "d", math.MaxInt64 - 1},
		{math.MaxInt64, "e", true, "e", math.MaxInt64},
		{math.MaxInt64, "f", true, "f", math.MaxInt64},
	}
	negSteps := []struct {
		fence int64
		want  bool
	}{
		{-5, true}, {-6, false}, {-5, true}, {math.MinInt64, false}, {-1, true}, {0, true}, {-1, false},
	}
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		key := "{doc}:body"
		fenceKey := cas.FenceRecordKey(key)
		for i, s := range steps {
			got, err := cas.FencedSet(ctx, b.Client, key, s.value, s.fence)
			if got != s.want || err != nil {
				t.Errorf("step %d: FencedSet(fence %d) = %v, %v; want %v, nil", i, s.fence, got, err, s.want)
			}
			testbackend.WantValue(t, b.Client, key, &s.wantValue)
			testbackend.WantValue(t, b.Client, fenceKey, str(strconv.FormatInt(s.wantFence, 10)))
		}
		key = "{doc}:neg"
		for i, s := range negSteps {
			if got, err := cas.FencedSet(ctx, b.Client, key, "v", s.fence); got != s.want || err != nil {
				t.Errorf("negative step %d: FencedSet(fence %d) = %v, %v; want %v, nil", i, s.fence, got, err, s.want)
			}
		}
	})
}

func TestFencedSetKeepsTTL(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		b.Client.Set(ctx, "{doc}:ttl", "a", time.Hour)
		if ok, err := cas.FencedSet(ctx, b.Client, "{doc}:ttl", "b", 1); !ok || err != nil {
			t.Fatalf("FencedSet = %v, %v", ok, err)
		}
		if d := testbackend.PTTL(t, b.Client, "{doc}:ttl"); d <= 59*time.Minute {
			t.Errorf("PTTL = %v, want the old ~1h kept", d)
		}
	})
}

// A data key or record of another type fails with redislua.ErrWrongType
// and nothing changes: FencedSet used to replace a hash or a list with a
// string.
func TestFencedSetWrongTypeChangesNothing(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		key := "{doc}:typed"
		record := cas.FenceRecordKey(key)
		kinds := map[string]func(k string){
			"hash": func(k string) { b.Client.HSet(ctx, k, "f", "v") },
			"list": func(k string) { b.Client.RPush(ctx, k, "v") },
			"set":  func(k string) { b.Client.SAdd(ctx, k, "v") },
			"zset": func(k string) { b.Client.ZAdd(ctx, k, redis.Z{Score: 1, Member: "v"}) },
		}
		for kind, make := range kinds {
			for _, target := range []string{key, record} {
				b.Client.Del(ctx, key, record)
				make(target)
				before := b.Client.Dump(ctx, target).Val()
				ok, err := cas.FencedSet(ctx, b.Client, key, "new", 7)
				if ok || !errors.Is(err, redislua.ErrWrongType) {
					t.Errorf("%s at %q: FencedSet = %v, %v; want false, redislua.ErrWrongType", kind, target, ok, err)
				}
				if got := b.Client.Type(ctx, target).Val(); got != kind {
					t.Errorf("%s at %q: type is now %s", kind, target, got)
				}
				if after := b.Client.Dump(ctx, target).Val(); after != before {
					t.Errorf("%s at %q: value changed", kind, target)
				}
				if n := b.Client.Exists(ctx, key, record).Val(); n != 1 {
					t.Errorf("%s at %q: %d of the two keys exist, want only the one set up", kind, target, n)
				}
			}
		}
	})
}

func TestFencedSetCorruptRecordWritesNothing(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		ctx := context.Background()
		for _, bad := range []string{"", "x", "007", "-0", "1.5", "9223372036854775808", " 1"} {
			b.Client.Set(ctx, "{doc}:c", "old", 0)
			b.Client.Set(ctx, cas.FenceRecordKey("{doc}:c"), bad, 0)
			ok, err := cas.FencedSet(ctx, b.Client, "{doc}:c", "new", math.MaxInt64)
			if ok || !errors.Is(err, cas.ErrNotInteger) {
				t.Errorf("record %q: FencedSet = %v, %v; want false, cas.ErrNotInteger", bad, ok, err)
			}
			testbackend.WantValue(t, b.Client, "{doc}:c", str("old"))
		}
	})
}

func TestMisuseSendsNothing(t *testing.T) {
	b := testbackend.Miniredis(t)
	ctx := context.Background()
	var nilClient *redis.Client
	pipe := b.Client.Pipeline()
	hour := &cas.Options{TTL: time.Hour}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"swap nil client", func() error { _, err := cas.Swap(ctx, nilClient, "k", "a", "b", nil); return err }, redislua.ErrNilClient},
		{"swap pipeline", func() error { _, err := cas.Swap(ctx, pipe, "k", "a", "b", nil); return err }, redislua.ErrPipeline},
		{"swap empty key", func() error { _, err := cas.Swap(ctx, b.Client, "", "a", "b", hour); return err }, redislua.ErrEmptyKey},
		{"swap negative TTL", func() error {
			_, err := cas.Swap(ctx, b.Client, "k", "a", "b", &cas.Options{TTL: -time.Second})
			return err
		}, cas.ErrInvalidTTL},
		{"swap TTL under 1ms", func() error {
			_, err := cas.Swap(ctx, b.Client, "k", "a", "b", &cas.Options{TTL: 999 * time.Microsecond})
			return err
		}, cas.ErrInvalidTTL},
		{"delete nil client", func() error { _, err := cas.Delete(ctx, nil, "k", "a"); return err }, redislua.ErrNilClient},
		{"delete pipeline", func() error { _, err := cas.Delete(ctx, pipe, "k", "a"); return err }, redislua.ErrPipeline},
		{"delete empty key", func() error { _, err := cas.Delete(ctx, b.Client, "", "a"); return err }, redislua.ErrEmptyKey},
		{"many nil client", func() error { _, err := cas.SwapMany(ctx, nil, []string{"k"}, "a", "b", nil); return err }, redislua.ErrNilClient},
		{"many pipeline", func() error { _, err := cas.SwapMany(ctx, pipe, []string{"k"}, "a", "b", nil); return err }, redislua.ErrPipeline},
		{"many empty key", func() error { _, err := cas.SwapMany(ctx, b.Client, []string{"{j}:1", ""}, "a", "b", nil); return err }, redislua.ErrEmptyKey},
		{"many cross-slot", func() error {
			_, err := cas.SwapMany(ctx, b.Client, []string{"{j}:1", "{k}:2"}, "a", "b", nil)
			return err
		}, redislua.ErrCrossSlot},
		{"many bad TTL", func() error {
			_, err := cas.SwapMany(ctx, b.Client, []string{"k"}, "a", "b", &cas.Options{TTL: -1})
			return err
		}, cas.ErrInvalidTTL},
		{"fenced nil client", func() error { _, err := cas.FencedSet(ctx, nil, "k", "v", 1); return err }, redislua.ErrNilClient},
		{"fenced pipeline", func() error { _, err := cas.FencedSet(ctx, pipe, "k", "v", 1); return err }, redislua.ErrPipeline},
		{"fenced empty key", func() error { _, err := cas.FencedSet(ctx, b.Client, "", "v", 1); return err }, redislua.ErrEmptyKey},
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if sent := b.Sent.Take(); len(sent) != 0 {
			t.Errorf("%s: sent %v, want nothing", tt.name, sent)
		}
	}
	if pipe.Len() != 0 {
		t.Errorf("pipeline holds %d commands, want none", pipe.Len())
	}
	// A cross-slot SwapMany names its keys.
	_, err := cas.SwapMany(ctx, b.Client, []string{"{j}:1", "{k}:2"}, "a", "b", nil)
	var cse *redislua.CrossSlotError
	if !errors.As(err, &cse) || len(cse.Keys) != 2 {
		t.Errorf("cross-slot SwapMany err = %v, want a *redislua.CrossSlotError naming both keys", err)
	}
	// No keys: nothing to do, nothing sent.
	if n, err := cas.SwapMany(ctx, b.Client, nil, "a", "b", nil); n != 0 || err != nil {
		t.Errorf("SwapMany(no keys) = %d, %v; want 0, nil", n, err)
	}
	if sent := b.Sent.Take(); len(sent) != 0 {
		t.Errorf("SwapMany(no keys) sent %v, want nothing", sent)
	}
}

func TestOnCluster(t *testing.T) {
	cc := testbackend.SharedCluster(t)
	ctx := context.Background()
	key := "cas-test:{c1}:state"
	if err := cc.Set(ctx, key, "a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := cas.Swap(ctx, cc, key, "a", "b", &cas.Options{TTL: time.Minute}); !ok || err != nil {
		t.Fatalf("Swap = %v, %v; want true, nil", ok, err)
	}
	if ok, err := cas.Swap(ctx, cc, key, "a", "c", nil); ok || err != nil {
		t.Fatalf("stale Swap = %v, %v; want false, nil", ok, err)
	}
	if d := testbackend.PTTL(t, cc, key); d <= 0 || d > time.Minute {
		t.Errorf("PTTL = %v, want (0, 1m]", d)
	}
	if ok, err := cas.Delete(ctx, cc, key, "b"); !ok || err != nil {
		t.Fatalf("Delete = %v, %v; want true, nil", ok, err)
	}

	jobs := []string{"cas-test:{c1}:job:1", "cas-test:{c1}:job:2", "cas-test:{c1}:job:3"}
	for _, k := range jobs[:2] {
		cc.Set(ctx, k, "pending", 0)
	}
	cc.Set(ctx, jobs[2], "done", 0)
	if n, err := cas.SwapMany(ctx, cc, jobs, "pending", "active", nil); n != 2 || err != nil {
		t.Fatalf("SwapMany = %d, %v; want 2, nil", n, err)
	}
	_, err := cas.SwapMany(ctx, cc, []string{"cas-test:{c1}:job:1", "cas-test:{c2}:job:1"}, "pending", "active", nil)
	if !errors.Is(err, redislua.ErrCrossSlot) {
		t.Fatalf("cross-slot SwapMany = %v, want redislua.ErrCrossSlot", err)
	}

	doc := "cas-test:{c1}:doc"
	cc.Del(ctx, doc, cas.FenceRecordKey(doc))
	for _, s := range []struct {
		fence int64
		want  bool
	}{{10, true}, {9, false}, {10, true}, {1<<53 + 1, true}, {1 << 53, false}} {
		if ok, err := cas.FencedSet(ctx, cc, doc, "v", s.fence); ok != s.want || err != nil {
			t.Errorf("FencedSet(fence %d) = %v, %v; want %v, nil", s.fence, ok, err, s.want)
		}
	}
	// A key without a hash tag gets a record in its own slot.
	cc.Del(ctx, "cas-test-untagged", cas.FenceRecordKey("cas-test-untagged"))
	if ok, err := cas.FencedSet(ctx, cc, "cas-test-untagged", "v", 1); !ok || err != nil {
		t.Errorf("FencedSet of an untagged key = %v, %v; want true, nil", ok, err)
	}
}

// nilScripter is a caller's own client type, whose methods need a value.
type nilScripter struct{ redis.Scripter }

// A typed nil of any client type is ErrNilClient, never a panic: the
// switch over go-redis's clients missed *redis.Tx (a transaction's
// connection) and callers' own types.
func TestTypedNilClients(t *testing.T) {
	ctx := context.Background()
	for _, c := range []redis.Scripter{(*redis.Tx)(nil), (*nilScripter)(nil)} {
		calls := map[string]func() error{
			"Swap": func() error {
				_, err := cas.Swap(ctx, c, "k", "a", "b", nil)
				return err
			},
			"Delete": func() error {
				_, err := cas.Delete(ctx, c, "k", "a")
				return err
			},
			"SwapMany": func() error {
				_, err := cas.SwapMany(ctx, c, []string{"k"}, "a", "b", nil)
				return err
			},
			"FencedSet": func() error {
				_, err := cas.FencedSet(ctx, c, "k", "v", 1)
				return err
			},
		}
		testbackend.ExpectError(t, testbackend.TypeName(c), redislua.ErrNilClient, calls)
	}
}

// A user key equal to a key the library derives is refused before anything
// is sent, so that no call writes over a fence record, a transfer's ID
// record or a limiter's state.
func TestReservedKeysAreRefusedBeforeSending(t *testing.T) {
	b := testbackend.Real(t)
	ctx := context.Background()
	from := "{b}:a"
	record := keyspace.DeriveWith(from, keyspace.KindTransferID, "x")
	b.Client.Set(ctx, from, 100, 0)
	b.Sent.Take()

	fenced := cas.FenceRecordKey("{b}:doc")
	rateLog := keyspace.Derive("{b}:user", keyspace.KindRateLog)
	calls := map[string]func() error{
		"FencedSet on a fence record": func() error {
			_, err := cas.FencedSet(ctx, b.Client, fenced, "v", 1)
			return err
		},
		"Swap on a limiter's log": func() error {
			_, err := cas.Swap(ctx, b.Client, rateLog, "", "v", nil)
			return err
		},
		"Delete on a record": func() error {
			_, err := cas.Delete(ctx, b.Client, record, "")
			return err
		},
		"SwapMany with a fence record": func() error {
			_, err := cas.SwapMany(ctx, b.Client, []string{"{b}:doc", fenced}, "", "v", nil)
			return err
		},
	}
	testbackend.ExpectRefusedBeforeSending(t, b, redislua.ErrReservedKey, calls)
	testbackend.WantValue(t, b.Client, from, str("100"))
	if n := b.Client.DBSize(ctx).Val(); n != 1 {
		t.Errorf("DBSIZE = %d, want 1: a refused call wrote", n)
	}
}

// Distinct keys never share a fence record: a's record at 10 does not
// refuse b's fence 5, on a server and on a cluster.
func TestFenceRecordsAreNotShared(t *testing.T) {
	clients := testbackend.ServerAndCluster(t)
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for _, p := range testbackend.SharedStatePairs {
				a, b := p[0], p[1]
				c.Del(ctx, a, b, cas.FenceRecordKey(a), cas.FenceRecordKey(b))
				if ok, err := cas.FencedSet(ctx, c, a, "va", 10); !ok || err != nil {
					t.Fatalf("FencedSet(%q) = %v, %v", a, ok, err)
				}
				if ok, err := cas.FencedSet(ctx, c, b, "vb", 5); !ok || err != nil {
					t.Errorf("FencedSet(%q, 5) after %q at 10 = %v, %v; want true: they share a record", b, a, ok, err)
				}
				c.Del(ctx, a, b, cas.FenceRecordKey(a), cas.FenceRecordKey(b))
			}
		})
	}
}

// An ACL user limited to its key prefix and to scripting swaps and writes
// with fences on its keys (the fence record begins with the key, so the
// user's key pattern covers it).
func TestACLUser(t *testing.T) {
	srv := redistest.Start(t)
	app := srv.CreateUser(t, "app", "s3cret", testbackend.AppUserRules...)
	ctx := context.Background()
	if ok, err := cas.Swap(ctx, app, "app:state", "", "x", nil); err != nil || ok {
		t.Fatalf("Swap as app = %v, %v", ok, err)
	}
	if ok, err := cas.FencedSet(ctx, app, "app:doc", "v", 1); err != nil || !ok {
		t.Fatalf("FencedSet as app = %v, %v", ok, err)
	}
}
