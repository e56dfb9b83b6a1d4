package redislua

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
)

func TestErrorAttrGivesScriptFileAndLine(t *testing.T) {
	b := forMiniredis(t)
	s := MustNewScript("jobs/fail.lua", "local x = 1\nerror('boom')")
	runErr := s.Run(context.Background(), b.client, nil).Err()
	wrapped := fmt.Errorf("processing job 7: %w", runErr)

	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Error("job failed", ErrorAttr(wrapped))
	var line struct {
		Error struct {
			Msg    string `json:"msg"`
			Script string `json:"script"`
			File   string `json:"file"`
			Line   int    `json:"line"`
		} `json:"error"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v in %s", err, buf.String())
	}
	e := line.Error
	if e.Script != "jobs/fail.lua" || e.File != "jobs/fail.lua" || e.Line != 2 || e.Msg != wrapped.Error() {
		t.Fatalf("logged %s", buf.String())
	}

	// The error itself, logged with slog.Any, is a group too.
	buf.Reset()
	var se *ScriptError
	if !errors.As(runErr, &se) {
		t.Fatalf("Run = %v, want a *ScriptError", runErr)
	}
	logger.Error("job failed", slog.Any("error", se))
	line.Error.Line = 0
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line.Error.Line != 2 {
		t.Fatalf("slog.Any of a *ScriptError logged %s", buf.String())
	}

	// Other errors are their message; nil is left out.
	if a := ErrorAttr(errors.New("plain")); a.Key != "error" || a.Value.String() != "plain" {
		t.Fatalf("ErrorAttr(plain) = %v", a)
	}
	if a := ErrorAttr(nil); !a.Equal(slog.Attr{}) {
		t.Fatalf("ErrorAttr(nil) = %v, want the empty attribute", a)
	}
	_, syntaxErr := NewScript("bad.lua", "return (")
	if a := ErrorAttr(syntaxErr); a.Value.Kind() != slog.KindGroup {
		t.Fatalf("ErrorAttr(syntax error) = %v, want a group", a)
	}
}
