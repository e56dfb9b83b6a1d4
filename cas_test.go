package redislua

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redislua/redislua/internal/keyspace"
)

// value returns key's string value, or ok false when it is missing.
func value(t *testing.T, c redis.Cmdable, key string) (v string, ok bool) {
	t.Helper()
	v, err := c.Get(context.Background(), key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false
	}
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	return v, true
}

// str returns a pointer to s, for table fields where nil means "missing".
func str(s string) *string { return &s }

// setOrDelete makes key hold *v, or be missing when v is nil.
func setOrDelete(t *testing.T, c redis.Cmdable, key string, v *string) {
	t.Helper()
	ctx := context.Background()
	var err error
	if v == nil {
		err = c.Del(ctx, key).Err()
	} else {
		err = c.Set(ctx, key, *v, 0).Err()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// wantValue checks that key holds *want, or is missing when want is nil.
func wantValue(t *testing.T, c redis.Cmdable, key string, want *string) {
	t.Helper()
	got, ok := value(t, c, key)
	if want == nil && ok {
		t.Errorf("%s = %q, want it missing", key, got)
	}
	if want != nil && !ok {
		t.Errorf("%s is missing, want %q", key, *want)
	}
	if want != nil && ok && got != *want {
		t.Errorf("%s = %q, want %q", key, got, *want)
	}
}

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

func TestCompareAndSwap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		for _, tc := range casCases {
			key := "{cas}:" + tc.name
			setOrDelete(t, b.client, key, tc.initial)
			got, err := CompareAndSwap(ctx, b.client, key, tc.expected, tc.desired, nil)
			if err != nil || got != tc.want {
				t.Errorf("%s: CompareAndSwap = %v, %v; want %v, nil", tc.name, got, err, tc.want)
			}
			want := tc.initial
			if tc.want {
				want = &tc.desired
			}
			wantValue(t, b.client, key, want)
		}
	})
}

func TestCompareAndDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		for _, tc := range casCases {
			key := "{cad}:" + tc.name
			setOrDelete(t, b.client, key, tc.initial)
			got, err := CompareAndDelete(ctx, b.client, key, tc.expected)
			if err != nil || got != tc.want {
				t.Errorf("%s: CompareAndDelete = %v, %v; want %v, nil", tc.name, got, err, tc.want)
			}
			want := tc.initial
			if tc.want {
				want = nil
			}
			wantValue(t, b.client, key, want)
		}
	})
}

// pttl returns key's time to live (negative: none, or missing).
func pttl(t *testing.T, c redis.Cmdable, key string) time.Duration {
	t.Helper()
	d, err := c.PTTL(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Without a TTL option a swap keeps the key's TTL (KEEPTTL), and with one it
// sets it. Checked on real Redis, whose clock runs, and on miniredis.
func TestCompareAndSwapTTL(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		key := "{cas}:ttl"
		if err := b.client.Set(ctx, key, "v1", 100*time.Second).Err(); err != nil {
			t.Fatal(err)
		}
		if ok, err := CompareAndSwap(ctx, b.client, key, "v1", "v2", nil); !ok || err != nil {
			t.Fatalf("CompareAndSwap = %v, %v", ok, err)
		}
		if d := pttl(t, b.client, key); d <= 90*time.Second || d > 100*time.Second {
			t.Errorf("PTTL after a swap without TTL = %v, want the old ~100s kept", d)
		}
		if ok, err := CompareAndSwap(ctx, b.client, key, "v2", "v3", &CASOptions{TTL: 5 * time.Second}); !ok || err != nil {
			t.Fatalf("CompareAndSwap with TTL = %v, %v", ok, err)
		}
		if d := pttl(t, b.client, key); d <= 0 || d > 5*time.Second {
			t.Errorf("PTTL after a swap with TTL 5s = %v, want (0, 5s]", d)
		}
		// A failed swap changes no TTL.
		if ok, err := CompareAndSwap(ctx, b.client, key, "nope", "v4", &CASOptions{TTL: time.Hour}); ok || err != nil {
			t.Fatalf("mismatched CompareAndSwap = %v, %v", ok, err)
		}
		if d := pttl(t, b.client, key); d > 5*time.Second {
			t.Errorf("PTTL after a failed swap = %v, want still <= 5s", d)
		}
		// A key without TTL stays without.
		persistent := "{cas}:persistent"
		b.client.Set(ctx, persistent, "a", 0)
		if ok, err := CompareAndSwap(ctx, b.client, persistent, "a", "b", &CASOptions{}); !ok || err != nil {
			t.Fatalf("CompareAndSwap = %v, %v", ok, err)
		}
		if d := pttl(t, b.client, persistent); d != -1 {
			t.Errorf("PTTL = %v, want -1 (no expiry)", d)
		}
	})
}

func TestTTLMillisRoundsDown(t *testing.T) {
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
		if got, err := ttlMillis(tt.d); got != tt.want || err != nil {
			t.Errorf("ttlMillis(%v) = %q, %v; want %q", tt.d, got, err, tt.want)
		}
	}
	for _, d := range []time.Duration{-time.Second, -1, 1, time.Millisecond - 1} {
		if _, err := ttlMillis(d); !errors.Is(err, ErrInvalidTTL) {
			t.Errorf("ttlMillis(%v) err = %v, want ErrInvalidTTL", d, err)
		}
	}
}

func TestSwapMany(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		for i, v := range []string{"pending", "pending", "pending", "done"} {
			b.client.Set(ctx, "{jobs}:"+strconv.Itoa(i+1), v, 0)
		}
		keys := []string{"{jobs}:1", "{jobs}:2", "{jobs}:3", "{jobs}:4", "{jobs}:missing", "{jobs}:1"}
		n, err := SwapMany(ctx, b.client, keys, "pending", "active", nil)
		if n != 3 || err != nil {
			t.Fatalf("SwapMany = %d, %v; want 3, nil (a key listed twice counts once)", n, err)
		}
		for key, want := range map[string]*string{
			"{jobs}:1": str("active"), "{jobs}:2": str("active"), "{jobs}:3": str("active"),
			"{jobs}:4": str("done"), "{jobs}:missing": nil,
		} {
			wantValue(t, b.client, key, want)
		}
		if n, err := SwapMany(ctx, b.client, keys, "pending", "active", nil); n != 0 || err != nil {
			t.Fatalf("second SwapMany = %d, %v; want 0, nil", n, err)
		}
		// Binary and empty values.
		b.client.Set(ctx, "{jobs}:bin", "\x00\xff", 0)
		b.client.Set(ctx, "{jobs}:empty", "", 0)
		if n, err := SwapMany(ctx, b.client, []string{"{jobs}:bin", "{jobs}:empty"}, "\x00\xff", "", nil); n != 1 || err != nil {
			t.Fatalf("SwapMany of binary values = %d, %v; want 1, nil", n, err)
		}
		wantValue(t, b.client, "{jobs}:bin", str(""))
		if n, err := SwapMany(ctx, b.client, []string{"{jobs}:bin", "{jobs}:empty"}, "", "x", nil); n != 2 || err != nil {
			t.Fatalf("SwapMany of empty values = %d, %v; want 2, nil", n, err)
		}
	})
}

func TestSwapManyTTLOnlyOnKeysSet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		b.client.Set(ctx, "{lease}:a", "free", time.Hour)
		b.client.Set(ctx, "{lease}:b", "taken", time.Hour)
		n, err := SwapMany(ctx, b.client, []string{"{lease}:a", "{lease}:b"}, "free", "taken", &CASOptions{TTL: 10 * time.Second})
		if n != 1 || err != nil {
			t.Fatalf("SwapMany = %d, %v; want 1, nil", n, err)
		}
		if d := pttl(t, b.client, "{lease}:a"); d <= 0 || d > 10*time.Second {
			t.Errorf("PTTL of the key set = %v, want (0, 10s]", d)
		}
		if d := pttl(t, b.client, "{lease}:b"); d <= 10*time.Second {
			t.Errorf("PTTL of the key left alone = %v, want its old ~1h", d)
		}
	})
}

// Every key is read before any is written, so a key of the wrong type
// fails the call without changing the keys before it.
func TestSwapManyWrongTypeChangesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		b.client.Set(ctx, "{jobs}:1", "pending", 0)
		b.client.RPush(ctx, "{jobs}:2", "pending")
		b.client.Set(ctx, "{jobs}:3", "pending", 0)
		n, err := SwapMany(ctx, b.client, []string{"{jobs}:1", "{jobs}:2", "{jobs}:3"}, "pending", "active", nil)
		var se *ScriptError
		if !errors.As(err, &se) || !errors.Is(err, ErrWrongType) || n != 0 {
			t.Fatalf("SwapMany = %d, %v; want 0 and a *ScriptError (WRONGTYPE)", n, err)
		}
		wantValue(t, b.client, "{jobs}:1", str("pending"))
		wantValue(t, b.client, "{jobs}:3", str("pending"))
		if ok, err := CompareAndSwap(ctx, b.client, "{jobs}:2", "pending", "active", nil); ok || !errors.Is(err, ErrWrongType) {
			t.Errorf("CompareAndSwap on a list = %v, %v; want false, ErrWrongType", ok, err)
		}
		if ok, err := CompareAndDelete(ctx, b.client, "{jobs}:2", "pending"); ok || !errors.Is(err, ErrWrongType) {
			t.Errorf("CompareAndDelete on a list = %v, %v; want false, ErrWrongType", ok, err)
		}
		if n := b.client.LLen(ctx, "{jobs}:2").Val(); n != 1 {
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
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		key := "{doc}:body"
		fenceKey := keyspace.Derive(key, kindFenced)
		for i, s := range steps {
			got, err := FencedSet(ctx, b.client, key, s.value, s.fence)
			if got != s.want || err != nil {
				t.Errorf("step %d: FencedSet(fence %d) = %v, %v; want %v, nil", i, s.fence, got, err, s.want)
			}
			wantValue(t, b.client, key, &s.wantValue)
			wantValue(t, b.client, fenceKey, str(strconv.FormatInt(s.wantFence, 10)))
		}
		key = "{doc}:neg"
		for i, s := range negSteps {
			if got, err := FencedSet(ctx, b.client, key, "v", s.fence); got != s.want || err != nil {
				t.Errorf("negative step %d: FencedSet(fence %d) = %v, %v; want %v, nil", i, s.fence, got, err, s.want)
			}
		}
	})
}

func TestFencedSetKeepsTTL(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		b.client.Set(ctx, "{doc}:ttl", "a", time.Hour)
		if ok, err := FencedSet(ctx, b.client, "{doc}:ttl", "b", 1); !ok || err != nil {
			t.Fatalf("FencedSet = %v, %v", ok, err)
		}
		if d := pttl(t, b.client, "{doc}:ttl"); d <= 59*time.Minute {
			t.Errorf("PTTL = %v, want the old ~1h kept", d)
		}
	})
}

// A data key or record of another type fails with ErrWrongType and nothing
// changes: FencedSet used to replace a hash or a list with a string.
func TestFencedSetWrongTypeChangesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		key := "{doc}:typed"
		record := FenceRecordKey(key)
		kinds := map[string]func(k string){
			"hash": func(k string) { b.client.HSet(ctx, k, "f", "v") },
			"list": func(k string) { b.client.RPush(ctx, k, "v") },
			"set":  func(k string) { b.client.SAdd(ctx, k, "v") },
			"zset": func(k string) { b.client.ZAdd(ctx, k, redis.Z{Score: 1, Member: "v"}) },
		}
		for kind, make := range kinds {
			for _, target := range []string{key, record} {
				b.client.Del(ctx, key, record)
				make(target)
				before := b.client.Dump(ctx, target).Val()
				ok, err := FencedSet(ctx, b.client, key, "new", 7)
				if ok || !errors.Is(err, ErrWrongType) {
					t.Errorf("%s at %q: FencedSet = %v, %v; want false, ErrWrongType", kind, target, ok, err)
				}
				if got := b.client.Type(ctx, target).Val(); got != kind {
					t.Errorf("%s at %q: type is now %s", kind, target, got)
				}
				if after := b.client.Dump(ctx, target).Val(); after != before {
					t.Errorf("%s at %q: value changed", kind, target)
				}
				if n := b.client.Exists(ctx, key, record).Val(); n != 1 {
					t.Errorf("%s at %q: %d of the two keys exist, want only the one set up", kind, target, n)
				}
			}
		}
	})
}

func TestFencedSetCorruptRecordWritesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		for _, bad := range []string{"", "x", "007", "-0", "1.5", "9223372036854775808", " 1"} {
			b.client.Set(ctx, "{doc}:c", "old", 0)
			b.client.Set(ctx, keyspace.Derive("{doc}:c", kindFenced), bad, 0)
			ok, err := FencedSet(ctx, b.client, "{doc}:c", "new", math.MaxInt64)
			if ok || !errors.Is(err, ErrNotInteger) {
				t.Errorf("record %q: FencedSet = %v, %v; want false, ErrNotInteger", bad, ok, err)
			}
			wantValue(t, b.client, "{doc}:c", str("old"))
		}
	})
}

func TestCASMisuseSendsNothing(t *testing.T) {
	b := forMiniredis(t)
	ctx := context.Background()
	var nilClient *redis.Client
	pipe := b.client.Pipeline()
	hour := &CASOptions{TTL: time.Hour}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"swap nil client", func() error { _, err := CompareAndSwap(ctx, nilClient, "k", "a", "b", nil); return err }, ErrNilClient},
		{"swap pipeline", func() error { _, err := CompareAndSwap(ctx, pipe, "k", "a", "b", nil); return err }, ErrPipeline},
		{"swap empty key", func() error { _, err := CompareAndSwap(ctx, b.client, "", "a", "b", hour); return err }, ErrEmptyKey},
		{"swap negative TTL", func() error {
			_, err := CompareAndSwap(ctx, b.client, "k", "a", "b", &CASOptions{TTL: -time.Second})
			return err
		}, ErrInvalidTTL},
		{"swap TTL under 1ms", func() error {
			_, err := CompareAndSwap(ctx, b.client, "k", "a", "b", &CASOptions{TTL: 999 * time.Microsecond})
			return err
		}, ErrInvalidTTL},
		{"delete nil client", func() error { _, err := CompareAndDelete(ctx, nil, "k", "a"); return err }, ErrNilClient},
		{"delete pipeline", func() error { _, err := CompareAndDelete(ctx, pipe, "k", "a"); return err }, ErrPipeline},
		{"delete empty key", func() error { _, err := CompareAndDelete(ctx, b.client, "", "a"); return err }, ErrEmptyKey},
		{"many nil client", func() error { _, err := SwapMany(ctx, nil, []string{"k"}, "a", "b", nil); return err }, ErrNilClient},
		{"many pipeline", func() error { _, err := SwapMany(ctx, pipe, []string{"k"}, "a", "b", nil); return err }, ErrPipeline},
		{"many empty key", func() error { _, err := SwapMany(ctx, b.client, []string{"{j}:1", ""}, "a", "b", nil); return err }, ErrEmptyKey},
		{"many cross-slot", func() error { _, err := SwapMany(ctx, b.client, []string{"{j}:1", "{k}:2"}, "a", "b", nil); return err }, ErrCrossSlot},
		{"many bad TTL", func() error {
			_, err := SwapMany(ctx, b.client, []string{"k"}, "a", "b", &CASOptions{TTL: -1})
			return err
		}, ErrInvalidTTL},
		{"fenced nil client", func() error { _, err := FencedSet(ctx, nil, "k", "v", 1); return err }, ErrNilClient},
		{"fenced pipeline", func() error { _, err := FencedSet(ctx, pipe, "k", "v", 1); return err }, ErrPipeline},
		{"fenced empty key", func() error { _, err := FencedSet(ctx, b.client, "", "v", 1); return err }, ErrEmptyKey},
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if sent := b.sent.Take(); len(sent) != 0 {
			t.Errorf("%s: sent %v, want nothing", tt.name, sent)
		}
	}
	if pipe.Len() != 0 {
		t.Errorf("pipeline holds %d commands, want none", pipe.Len())
	}
	// A cross-slot SwapMany names its keys.
	_, err := SwapMany(ctx, b.client, []string{"{j}:1", "{k}:2"}, "a", "b", nil)
	var cse *CrossSlotError
	if !errors.As(err, &cse) || len(cse.Keys) != 2 {
		t.Errorf("cross-slot SwapMany err = %v, want a *CrossSlotError naming both keys", err)
	}
	// No keys: nothing to do, nothing sent.
	if n, err := SwapMany(ctx, b.client, nil, "a", "b", nil); n != 0 || err != nil {
		t.Errorf("SwapMany(no keys) = %d, %v; want 0, nil", n, err)
	}
	if sent := b.sent.Take(); len(sent) != 0 {
		t.Errorf("SwapMany(no keys) sent %v, want nothing", sent)
	}
}

func TestCASOnCluster(t *testing.T) {
	cc := sharedCluster(t)
	ctx := context.Background()
	key := "cas-test:{c1}:state"
	if err := cc.Set(ctx, key, "a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := CompareAndSwap(ctx, cc, key, "a", "b", &CASOptions{TTL: time.Minute}); !ok || err != nil {
		t.Fatalf("CompareAndSwap = %v, %v; want true, nil", ok, err)
	}
	if ok, err := CompareAndSwap(ctx, cc, key, "a", "c", nil); ok || err != nil {
		t.Fatalf("stale CompareAndSwap = %v, %v; want false, nil", ok, err)
	}
	if d := pttl(t, cc, key); d <= 0 || d > time.Minute {
		t.Errorf("PTTL = %v, want (0, 1m]", d)
	}
	if ok, err := CompareAndDelete(ctx, cc, key, "b"); !ok || err != nil {
		t.Fatalf("CompareAndDelete = %v, %v; want true, nil", ok, err)
	}

	jobs := []string{"cas-test:{c1}:job:1", "cas-test:{c1}:job:2", "cas-test:{c1}:job:3"}
	for _, k := range jobs[:2] {
		cc.Set(ctx, k, "pending", 0)
	}
	cc.Set(ctx, jobs[2], "done", 0)
	if n, err := SwapMany(ctx, cc, jobs, "pending", "active", nil); n != 2 || err != nil {
		t.Fatalf("SwapMany = %d, %v; want 2, nil", n, err)
	}
	_, err := SwapMany(ctx, cc, []string{"cas-test:{c1}:job:1", "cas-test:{c2}:job:1"}, "pending", "active", nil)
	if !errors.Is(err, ErrCrossSlot) {
		t.Fatalf("cross-slot SwapMany = %v, want ErrCrossSlot", err)
	}

	doc := "cas-test:{c1}:doc"
	cc.Del(ctx, doc, keyspace.Derive(doc, kindFenced))
	for _, s := range []struct {
		fence int64
		want  bool
	}{{10, true}, {9, false}, {10, true}, {1<<53 + 1, true}, {1 << 53, false}} {
		if ok, err := FencedSet(ctx, cc, doc, "v", s.fence); ok != s.want || err != nil {
			t.Errorf("FencedSet(fence %d) = %v, %v; want %v, nil", s.fence, ok, err, s.want)
		}
	}
	// A key without a hash tag gets a record in its own slot.
	cc.Del(ctx, "cas-test-untagged", keyspace.Derive("cas-test-untagged", kindFenced))
	if ok, err := FencedSet(ctx, cc, "cas-test-untagged", "v", 1); !ok || err != nil {
		t.Errorf("FencedSet of an untagged key = %v, %v; want true, nil", ok, err)
	}
}
