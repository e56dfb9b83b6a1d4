package luasrc

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestExpandInlinesOnceAndMapsLines(t *testing.T) {
	fsys := fstest.MapFS{
		"lua/main.lua":          {Data: []byte("--- @include \"includes/util\"\n--- @include 'includes/more.lua'\nreturn util() + more()\n")},
		"lua/includes/util.lua": {Data: []byte("local function util()\n  return 1\nend\n")},
		"lua/includes/more.lua": {Data: []byte("--- @include \"util\"\nlocal function more()\n  return util()\nend\n")},
	}
	src, err := Expand(fsys, "lua/main.lua", string(fsys["lua/main.lua"].Data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := "local function util()\n  return 1\nend\n\nlocal function more()\n  return util()\nend\nreturn util() + more()\n"
	if src.Text != want {
		t.Fatalf("Text =\n%s\nwant\n%s", src.Text, want)
	}
	if got := strings.Join(src.Included, ","); got != "lua/includes/util.lua,lua/includes/more.lua" {
		t.Errorf("Included = %s", got)
	}
	for line, want := range map[int]Loc{
		1: {"lua/includes/util.lua", 1},
		3: {"lua/includes/util.lua", 3},
		4: {"lua/includes/more.lua", 1}, // the repeated include, now empty
		6: {"lua/includes/more.lua", 3},
		8: {"lua/main.lua", 3},
		9: {"lua/main.lua", 4},
	} {
		if got := src.Locate(line); got != want {
			t.Errorf("Locate(%d) = %v, want %v", line, got, want)
		}
	}
}

func TestExpandWithoutIncludesIsIdentity(t *testing.T) {
	for _, text := range []string{"return 1", "return 1\n", "#!lua\nreturn 1\n\n", ""} {
		src, err := Expand(nil, "x.lua", text, 1<<20)
		if err != nil || src.Text != text {
			t.Errorf("Expand(%q) = %q, %v", text, src.Text, err)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"a.lua":    {Data: []byte("-- @include \"b\"\nreturn 1")},
		"b.lua":    {Data: []byte("\n--- @include \"a\"\n")},
		"bang.lua": {Data: []byte("#!lua\nreturn 1")},
	}
	tests := []struct {
		file, src, want string
	}{
		{"a.lua", string(fsys["a.lua"].Data), "b.lua:2: include cycle: a.lua -> b.lua -> a.lua"},
		{"m.lua", "return 1\n--- @include \"missing\"", "m.lua:2: cannot include \"missing\""},
		{"m.lua", "--- @include \"../../etc/passwd\"", "m.lua:1: cannot include"},
		{"m.lua", "--- @include \"/etc/passwd\"", "must be relative"},
		{"m.lua", "--- @include nope", "malformed @include"},
		{"m.lua", "--- @include \"bang\"", "has a shebang"},
	}
	for _, tt := range tests {
		_, err := Expand(fsys, tt.file, tt.src, 1<<20)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Expand(%s) = %v, want error containing %q", tt.file, err, tt.want)
		}
	}
	if _, err := Expand(nil, "m.lua", "--- @include \"x\"", 1<<20); err == nil || !strings.Contains(err.Error(), "fs.FS") {
		t.Errorf("Expand without fsys = %v", err)
	}
}

func TestIncludeTarget(t *testing.T) {
	for line, want := range map[string]string{
		`--- @include "includes/addJob"`: "includes/addJob",
		`  -- @include 'x.lua'  `:        "x.lua",
		`-- @includes "x"`:               "",
		`local s = '--- @include "x"'`:   "",
	} {
		got, ok, err := IncludeTarget(line)
		if err != nil || got != want || ok != (want != "") {
			t.Errorf("IncludeTarget(%q) = %q, %v, %v; want %q", line, got, ok, err, want)
		}
	}
}

// Lines end as Lua ends them, in the script and in what it includes; the
// text keeps every line break, and line numbers follow Lua's count.
func TestExpandLineEndings(t *testing.T) {
	fsys := fstest.MapFS{
		"cr.lua":   {Data: []byte("local function cr()\r  return 1\rend\r\r")},
		"crlf.lua": {Data: []byte("local function crlf()\r\n  return 2\r\nend\r\n")},
	}
	src := "--- @include \"cr\"\r--- @include \"crlf\"\n\rreturn cr()\r\n+ crlf()\n"
	got, err := Expand(fsys, "main.lua", src, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := "local function cr()\r  return 1\rend\rlocal function crlf()\r\n  return 2\r\nend\n\rreturn cr()\r\n+ crlf()\n"
	if got.Text != want {
		t.Fatalf("Text = %q, want %q", got.Text, want)
	}
	for line, want := range map[int]Loc{
		2: {"cr.lua", 2},
		3: {"cr.lua", 3},
		4: {"crlf.lua", 1},
		6: {"crlf.lua", 3},
		7: {"main.lua", 3},
		8: {"main.lua", 4},
		9: {"main.lua", 5},
	} {
		if got := got.Locate(line); got != want {
			t.Errorf("Locate(%d) = %v, want %v", line, got, want)
		}
	}
	for _, text := range []string{"return 1\r", "a\r\nb\r\n", "a\n\rb\r\r\n"} {
		if got, err := Expand(nil, "x.lua", text, 1<<20); err != nil || got.Text != text {
			t.Errorf("Expand(%q) = %q, %v: want it unchanged", text, got.Text, err)
		}
	}
}

// Expand reads at most limit bytes in all, and only regular files.
func TestExpandLimits(t *testing.T) {
	fsys := fstest.MapFS{
		"a.lua":    {Data: []byte(strings.Repeat("-", 60))},
		"b.lua":    {Data: []byte(strings.Repeat("-", 60))},
		"pipe.lua": {Mode: fs.ModeNamedPipe},
	}
	src := "--- @include \"a\"\n--- @include \"b\"\n"
	if _, err := Expand(fsys, "m.lua", src, 200); err != nil {
		t.Errorf("within the limit: %v", err)
	}
	_, err := Expand(fsys, "m.lua", src, 150)
	var ie *IncludeError
	if !errors.As(err, &ie) || !errors.Is(err, ErrTooLarge) || ie.Line != 2 || !strings.Contains(err.Error(), "more than 150 bytes") {
		t.Errorf("over the limit: %v, want ErrTooLarge at m.lua:2", err)
	}
	if _, err := Expand(fsys, "m.lua", src, 10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("src alone over the limit: %v", err)
	}
	_, err = Expand(fsys, "m.lua", "return 1\n--- @include \"pipe\"\n", 200)
	if !errors.As(err, &ie) || !errors.Is(err, ErrNotRegular) || ie.Line != 2 || !strings.Contains(err.Error(), "pipe.lua is not a regular file (named pipe)") {
		t.Errorf("pipe: %v, want ErrNotRegular at m.lua:2", err)
	}
}
