package redislua

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// ErrJSONReply is wrapped by the error JSON returns for a reply it cannot
// decode: not a string, not JSON, or JSON that does not fit the Go type.
var ErrJSONReply = errors.New("redislua: cannot decode the script's reply as JSON")

// JSON decodes the reply of a script that returns cjson.encode(...) into a
// T, with encoding/json. The command's own error is returned as is: a
// mapped script error stays a *ScriptError, a nil reply is redis.Nil. A
// reply that is not a string, is not JSON, or does not fit T is an error
// wrapping ErrJSONReply that shows the start of what was received.
//
// Redis's cjson encodes an empty Lua table as {}: JSON decodes that reply
// into an empty slice (or a zero array) when T is a slice or an array that
// is not a json.Unmarshaler (a json.RawMessage gets "{}"). It
// does not do so for an empty table nested deeper. cjson writes numbers with
// 14 significant digits: return large integers as strings (tostring) and
// decode them with a `json:",string"` tag. See docs/json.md.
//
//	type Stock struct {
//		Item  string `json:"item"`
//		Count int64  `json:"count,string"`
//	}
//	s, err := redislua.JSON[Stock](reg.Run(ctx, rdb, "stock", []string{key}))
func JSON[T any](cmd *redis.Cmd) (T, error) {
	var v T
	if err := cmd.Err(); err != nil {
		return v, err
	}
	s, ok := cmd.Val().(string)
	if !ok {
		return v, fmt.Errorf("%w into %s: the reply is %s, not a string; return cjson.encode(...)",
			ErrJSONReply, typeName[T](), describeReply(cmd.Val()))
	}
	if _, self := any(&v).(json.Unmarshaler); s == "{}" && !self {
		switch t := reflect.TypeFor[T](); t.Kind() {
		case reflect.Slice:
			// cjson cannot tell an empty array from an empty object.
			reflect.ValueOf(&v).Elem().Set(reflect.MakeSlice(t, 0, 0))
			return v, nil
		case reflect.Array:
			return v, nil
		}
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		var zero T
		return zero, fmt.Errorf("%w into %s: %w (reply %s)", ErrJSONReply, typeName[T](), err, cut(s))
	}
	return v, nil
}

// typeName names T for an error message.
func typeName[T any]() string {
	return reflect.TypeFor[T]().String()
}

// maxShown is how many bytes of a reply an error message shows.
const maxShown = 64

// cut quotes s, cut to maxShown bytes.
func cut(s string) string {
	if len(s) <= maxShown {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:maxShown]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// describeReply names a reply that is not a string, with its value cut.
func describeReply(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case int64:
		return "the integer " + strconv.FormatInt(v, 10)
	case []any:
		return fmt.Sprintf("an array of %d elements", len(v))
	}
	s := fmt.Sprint(v)
	if len(s) > maxShown {
		s = s[:maxShown] + "..."
	}
	return fmt.Sprintf("%T %s", v, s)
}
