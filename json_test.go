package redislua_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
	"github.com/redislua/redislua/internal/testbackend"
)

// runJSON runs src as a script with keys and returns its *redis.Cmd.
func runJSON(t *testing.T, c redis.Scripter, src string, keys ...string) *redis.Cmd {
	t.Helper()
	s, err := redislua.NewScript("json", src)
	if err != nil {
		t.Fatalf("NewScript: %v", err)
	}
	return s.Run(context.Background(), c, keys)
}

// raw returns the reply of src as a string, as cjson wrote it.
func raw(t *testing.T, c redis.Scripter, src string) string {
	t.Helper()
	s, err := runJSON(t, c, src).Text()
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	return s
}

type order struct {
	ID    string            `json:"id"`
	Qty   int               `json:"qty"`
	Tags  []string          `json:"tags"`
	Attrs map[string]string `json:"attrs"`
	Lines []struct {
		SKU string `json:"sku"`
		N   []int  `json:"n"`
	} `json:"lines"`
}

func TestJSONStructMapSlice(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		o, err := redislua.JSON[order](runJSON(t, b.Client, `return cjson.encode({
			id = "o1", qty = 3, tags = {"a", "b"}, attrs = {color = "red"},
			lines = {{sku = "x", n = {1, 2}}, {sku = "y", n = {3}}},
		})`))
		if err != nil {
			t.Fatalf("JSON[order]: %v", err)
		}
		got := fmt.Sprintf("%+v", o)
		want := "{ID:o1 Qty:3 Tags:[a b] Attrs:map[color:red] Lines:[{SKU:x N:[1 2]} {SKU:y N:[3]}]}"
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}

		m, err := redislua.JSON[map[string]int](runJSON(t, b.Client, `return cjson.encode({a = 1, b = 2})`))
		if err != nil || len(m) != 2 || m["a"] != 1 || m["b"] != 2 {
			t.Errorf("JSON[map[string]int] = %v, %v; want map[a:1 b:2]", m, err)
		}

		s, err := redislua.JSON[[]string](runJSON(t, b.Client, `return cjson.encode({"x", "y", "z"})`))
		if err != nil || strings.Join(s, ",") != "x,y,z" {
			t.Errorf("JSON[[]string] = %q, %v; want [x y z]", s, err)
		}
	})
}

// An empty Lua table is {} on Redis (miniredis writes []): JSON decodes it
// into an empty slice all the same.
func TestJSONEmptyTable(t *testing.T) {
	const src = `return cjson.encode({})`
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		if b.Real {
			if got := raw(t, b.Client, src); got != "{}" {
				t.Fatalf("redis encodes {} as %q, want {}", got)
			}
		}
		s, err := redislua.JSON[[]int](runJSON(t, b.Client, src))
		if err != nil || s == nil || len(s) != 0 {
			t.Errorf("JSON[[]int] = %#v, %v; want an empty, non-nil slice", s, err)
		}
		a, err := redislua.JSON[[2]int](runJSON(t, b.Client, src))
		if err != nil || a != [2]int{} {
			t.Errorf("JSON[[2]int] = %v, %v; want [0 0]", a, err)
		}
		if b.Real { // miniredis writes [], which a map refuses
			m, err := redislua.JSON[map[string]int](runJSON(t, b.Client, src))
			if err != nil || len(m) != 0 {
				t.Errorf("JSON[map[string]int] = %v, %v; want an empty map", m, err)
			}

			// Nested deeper, {} is not turned into a slice: the docs say
			// to leave the field out instead.
			_, err = redislua.JSON[struct{ Items []int }](runJSON(t, b.Client, `return cjson.encode({Items = {}})`))
			if !errors.Is(err, redislua.ErrJSONReply) {
				t.Errorf("nested empty table: err = %v, want ErrJSONReply", err)
			}
		}
	})
}

// cjson.null is JSON null: a nil pointer, a nil map value, a zero value.
func TestJSONNull(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		v, err := redislua.JSON[struct {
			A *int `json:"a"`
			B int  `json:"b"`
		}](runJSON(t, b.Client, `return cjson.encode({a = cjson.null, b = 1})`))
		if err != nil || v.A != nil || v.B != 1 {
			t.Errorf("got %+v, %v; want {A:<nil> B:1}", v, err)
		}
		p, err := redislua.JSON[*int](runJSON(t, b.Client, `return cjson.encode(cjson.null)`))
		if err != nil || p != nil {
			t.Errorf("JSON[*int](null) = %v, %v; want nil", p, err)
		}
		n, err := redislua.JSON[int](runJSON(t, b.Client, `return cjson.encode(cjson.null)`))
		if err != nil || n != 0 {
			t.Errorf("JSON[int](null) = %v, %v; want 0", n, err)
		}
		if b.Real { // miniredis has no cjson.null: the field is left out
			m, err := redislua.JSON[map[string]any](runJSON(t, b.Client, `return cjson.encode({a = cjson.null})`))
			if v, ok := m["a"]; err != nil || !ok || v != nil {
				t.Errorf("JSON[map[string]any] = %v, %v; want map[a:<nil>]", m, err)
			}
		}
	})
}

// cjson writes numbers with 14 significant digits; an integer sent as a
// string decodes exactly with a ",string" tag.
func TestJSONBigInteger(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		key := "{json}:big"
		if err := b.Client.Set(context.Background(), key, "9007199254740990", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if b.Real {
			got := raw(t, b.Client, `return cjson.encode({n = 9007199254740993, m = 123456789012345})`)
			if want := `{"m":1.2345678901234e+14,"n":9.007199254741e+15}`; got != want && got != `{"n":9.007199254741e+15,"m":1.2345678901234e+14}` {
				t.Errorf("redis encodes big numbers as %s, want %s", got, want)
			}
			// tostring rounds the same way.
			if got := raw(t, b.Client, `return tostring(9007199254740993)`); got != "9.007199254741e+15" {
				t.Errorf("tostring = %s, want 9.007199254741e+15", got)
			}
		}
		type counter struct {
			N   int64 `json:"n,string"`
			Raw int64 `json:"raw,string"`
		}
		c, err := redislua.JSON[counter](runJSON(t, b.Client, `
local n = redis.call("INCR", KEYS[1])
return cjson.encode({n = string.format("%d", n), raw = redis.call("GET", KEYS[1])})`, key))
		if err != nil || c.N != 9007199254740991 || c.Raw != 9007199254740991 {
			t.Errorf("got %+v, %v; want N and Raw 9007199254740991", c, err)
		}
	})
}

// cjson escapes control bytes, quotes and backslashes; bytes that are not
// UTF-8 become U+FFFD in Go, as encoding/json decodes strings.
func TestJSONBinaryStrings(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		s, err := redislua.JSON[[]string](runJSON(t, b.Client, `return cjson.encode({"\0\1\n\t\"\\/", "é", "\255"})`))
		want := []string{"\x00\x01\n\t\"\\/", "é", "\uFFFD"}
		if err != nil || fmt.Sprintf("%q", s) != fmt.Sprintf("%q", want) {
			t.Errorf("got %q, %v; want %q", s, err, want)
		}
	})
}

func TestJSONErrors(t *testing.T) {
	testbackend.ForEach(t, func(t *testing.T, b testbackend.Backend) {
		_, err := redislua.JSON[map[string]any](runJSON(t, b.Client, "local t = nil\nreturn cjson.encode(t.x)"))
		var se *redislua.ScriptError
		if !errors.As(err, &se) || se.Line != 2 || errors.Is(err, redislua.ErrJSONReply) {
			t.Errorf("script error: got %v (%T), want the *ScriptError at line 2 as is", err, err)
		}
		_, err = redislua.JSON[map[string]any](runJSON(t, b.Client, `return redis.error_reply("NOPE not today")`))
		var re redis.Error
		if !errors.As(err, &re) || err.Error() != "NOPE not today" {
			t.Errorf("error reply: got %v (%T), want the server's error as is", err, err)
		}
		if _, err := redislua.JSON[map[string]any](runJSON(t, b.Client, `return false`)); err != redis.Nil {
			t.Errorf("nil reply: err = %v, want redis.Nil", err)
		}

		for _, tc := range []struct {
			src  string
			want string
		}{
			{`return "not json"`, `redislua: cannot decode the script's reply as JSON into map[string]interface {}: invalid character 'o' in literal null (expecting 'u') (reply "not json")`},
			{`return 42`, `redislua: cannot decode the script's reply as JSON into map[string]interface {}: the reply is the integer 42, not a string; return cjson.encode(...)`},
			{`return {"a", "b"}`, `redislua: cannot decode the script's reply as JSON into map[string]interface {}: the reply is an array of 2 elements, not a string; return cjson.encode(...)`},
			{`return cjson.encode({1, 2})`, `redislua: cannot decode the script's reply as JSON into map[string]interface {}: json: cannot unmarshal array into Go value of type map[string]interface {} (reply "[1,2]")`},
			{`return string.rep("x", 100)`, `(reply "` + strings.Repeat("x", 64) + `"... (100 bytes))`},
		} {
			v, err := redislua.JSON[map[string]any](runJSON(t, b.Client, tc.src))
			if !errors.Is(err, redislua.ErrJSONReply) || !strings.Contains(err.Error(), tc.want) || v != nil {
				t.Errorf("%s: got %v, %v; want ErrJSONReply containing %s", tc.src, v, err, tc.want)
			}
		}
	})
}

// A script returns cjson.encode of a table; JSON decodes it into a Go type.
func ExampleJSON() {
	ctx := context.Background()
	srv, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	stock := redislua.MustNewScript("stock", `-- @key stock  a hash of item counts
local items = {}
local all = redis.call("HGETALL", KEYS[1])
for i = 1, #all, 2 do
  -- counts as strings: cjson keeps only 14 digits of a number
  table.insert(items, {name = all[i], count = all[i + 1]})
end
return cjson.encode({key = KEYS[1], items = items})`)

	type Item struct {
		Name  string `json:"name"`
		Count int64  `json:"count,string"`
	}
	type Stock struct {
		Key   string `json:"key"`
		Items []Item `json:"items"`
	}
	rdb.HSet(ctx, "stock", "pen", "123456789012345678")
	s, err := redislua.JSON[Stock](stock.Run(ctx, rdb, []string{"stock"}))
	fmt.Printf("%+v %v\n", s, err)
	// Output:
	// {Key:stock Items:[{Name:pen Count:123456789012345678}]} <nil>
}

// A T that decodes itself, such as json.RawMessage (a []byte), gets the
// reply as is: an empty table is {}, not an empty slice.
func TestJSONUnmarshalerKeepsEmptyTable(t *testing.T) {
	cmd := redis.NewCmd(context.Background())
	cmd.SetVal("{}")
	got, err := redislua.JSON[json.RawMessage](cmd)
	if err != nil || string(got) != "{}" {
		t.Errorf("JSON[json.RawMessage] of {} = %q, %v; want \"{}\", nil", got, err)
	}
}
