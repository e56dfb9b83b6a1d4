package redislua

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
)

func TestNewRegistryNamesScriptsByPath(t *testing.T) {
	reg := newTestRegistry(t, map[string]string{
		"transfer.lua":     "return 1",
		"lock/acquire.lua": "return 2",
		"README.md":        "not a script",
	})
	var names []string
	for _, s := range reg.Scripts() {
		names = append(names, s.Name()+"="+s.File())
	}
	if got := strings.Join(names, " "); got != "lock/acquire=lock/acquire.lua transfer=transfer.lua" {
		t.Fatalf("scripts = %s", got)
	}
}

// A script's name is its path in the fs.FS given, whatever else the FS
// holds: adding a directory to an embed renames nothing, and fs.Sub picks
// the directory names start from. (Names used to start below a top
// directory when it was the only one, so "lua/hit" became "hit" until a
// second directory appeared.)
func TestNamesDoNotChangeWhenADirectoryIsAdded(t *testing.T) {
	one := fstest.MapFS{
		"lua/hit.lua":         {Data: []byte("return 1")},
		"lua/sub/deep/x.lua":  {Data: []byte("return 2")},
		"lua/lib/helper.lua":  {Data: []byte("local function helper() return 3 end")},
		"lua/uses_helper.lua": {Data: []byte("--- @include \"lib/helper\"\nreturn helper()")},
	}
	two := fstest.MapFS{"other/y.lua": {Data: []byte("return 4")}}
	for path, f := range one {
		two[path] = f
	}
	for _, tt := range []struct {
		name string
		fsys fs.FS
		want string
	}{
		{"one directory", one, "[lua/hit lua/sub/deep/x lua/uses_helper]"},
		{"two directories", two, "[lua/hit lua/sub/deep/x lua/uses_helper other/y]"},
		{"fs.Sub of one", sub(t, one, "lua"), "[hit sub/deep/x uses_helper]"},
		{"fs.Sub of two", sub(t, two, "lua"), "[hit sub/deep/x uses_helper]"},
	} {
		reg, err := NewRegistry(tt.fsys, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := fmt.Sprint(scriptNames(reg)); got != tt.want {
			t.Errorf("%s: scripts = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func sub(t *testing.T, fsys fs.FS, dir string) fs.FS {
	t.Helper()
	s, err := fs.Sub(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Two files cannot share a name, but an fs.FS can list one file twice;
// the registry refuses that rather than holding the script twice, and Add
// refuses a name the registry has, naming the file it came from.
func TestNameCollisionsAreErrors(t *testing.T) {
	_, err := NewRegistry(twiceFS{fstest.MapFS{"lua/a.lua": {Data: []byte("return 1")}}}, nil)
	if !errors.Is(err, ErrDuplicateScript) || !strings.Contains(err.Error(), `"lua/a": lua/a.lua and lua/a.lua`) {
		t.Errorf("NewRegistry of an FS listing a file twice = %v, want ErrDuplicateScript naming lua/a.lua", err)
	}
	reg := newTestRegistry(t, map[string]string{"a.lua": "return 1"})
	_, err = reg.Add("a", "return 2")
	if want := `redislua: duplicate script name: "a" (already read from a.lua)`; !errors.Is(err, ErrDuplicateScript) || err.Error() != want {
		t.Errorf("Add of a name read from a file = %v, want %q", err, want)
	}
}

// twiceFS lists every directory entry twice.
type twiceFS struct{ fstest.MapFS }

func (f twiceFS) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := f.MapFS.ReadDir(name)
	return append(entries, entries...), err
}

func TestNewRegistryReportsEveryBadFile(t *testing.T) {
	_, err := NewRegistry(fstest.MapFS{
		"lua/good.lua":  {Data: []byte("return 1")},
		"lua/bad.lua":   {Data: []byte("return (")},
		"lua/worse.lua": {Data: []byte("local = 2")},
		"lua/empty.lua": {Data: nil},
	}, nil)

	if err == nil {
		t.Fatal("NewRegistry accepted bad files")
	}
	for _, want := range []string{"lua/bad.lua", "lua/worse.lua:1", "lua/empty.lua"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	if !errors.Is(err, ErrSyntax) || !errors.Is(err, ErrEmptySource) {
		t.Errorf("errors.Is fails for the joined errors: %v", err)
	}
}

func TestNilFSGivesEmptyRegistry(t *testing.T) {
	reg, err := NewRegistry(nil, nil)
	if err != nil || len(reg.Scripts()) != 0 {
		t.Fatalf("NewRegistry(nil) = %v, %v", reg.Scripts(), err)
	}
	var zero Registry
	if _, err := zero.Script("x"); !errors.Is(err, ErrUnknownScript) {
		t.Fatalf("zero Registry Script = %v, want ErrUnknownScript", err)
	}
}

func TestAdd(t *testing.T) {
	reg := newTestRegistry(t, map[string]string{"a.lua": "return 1"})
	if _, err := reg.Add("b", "return 2"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Add("a", "return 3"); !errors.Is(err, ErrDuplicateScript) {
		t.Fatalf("Add duplicate = %v, want ErrDuplicateScript", err)
	}
	if _, err := reg.Add("", "return 3"); !errors.Is(err, ErrEmptyName) {
		t.Fatalf("Add empty name = %v, want ErrEmptyName", err)
	}
	if _, err := reg.Add("c", "return ("); !errors.Is(err, ErrSyntax) {
		t.Fatalf("Add bad source = %v, want ErrSyntax", err)
	}
	var names []string
	for _, s := range reg.Scripts() {
		names = append(names, s.Name())
	}
	if got := strings.Join(names, ","); got != "a,b" {
		t.Fatalf("Scripts() = %s, want a,b", got)
	}
}

func TestConcurrentAddAndLookup(t *testing.T) {
	reg, _ := NewRegistry(nil, nil)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := string(rune('a' + i))
			if _, err := reg.Add(name, "return 1"); err != nil {
				t.Error(err)
			}
			if _, err := reg.Script(name); err != nil {
				t.Error(err)
			}
			_ = reg.Scripts()
		}(i)
	}
	wg.Wait()
	if n := len(reg.Scripts()); n != 8 {
		t.Fatalf("%d scripts, want 8", n)
	}
}

func TestUnknownScriptSuggestsCloseNames(t *testing.T) {
	reg := newTestRegistry(t, map[string]string{"transfer.lua": "return 1", "lock/acquire.lua": "return 1"})
	b := forMiniredis(t)
	for name, want := range map[string]string{
		"transfr": `"transfer"`,
		"acquire": `"lock/acquire"? fs.Sub(fsys, "lock") names scripts from inside lock/)`,
		"zzz":     `unknown script "zzz"`,
		"":        `unknown script ""`,
	} {
		err := reg.Run(context.Background(), b.client, name, nil).Err()
		if !errors.Is(err, ErrUnknownScript) || !strings.Contains(err.Error(), want) {
			t.Errorf("Run(%q) = %v, want ErrUnknownScript mentioning %s", name, err, want)
		}
	}
	if sent := b.sent.Take(); len(sent) != 0 {
		t.Fatalf("sent %v for unknown scripts", sent)
	}
}

func TestMustScriptPanicsOnUnknownName(t *testing.T) {
	reg := newTestRegistry(t, map[string]string{"a.lua": "return 1"})
	defer func() {
		if recover() == nil {
			t.Fatal("MustScript did not panic")
		}
	}()
	reg.MustScript("b")
}

func TestLoadAllWarmsTheCacheInOneRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		reg := newTestRegistry(t, map[string]string{"a.lua": "return 1", "b.lua": "return 2", "c/d.lua": "return 3"})
		b.sent.Take()
		if err := reg.LoadAll(ctx, b.client); err != nil {
			t.Fatal(err)
		}
		if sent := b.sent.Take(); len(sent) != 3 || count(sent, "script") != 3 {
			t.Fatalf("LoadAll sent %v", sent)
		}
		for _, s := range reg.Scripts() {
			if ok, err := s.Exists(ctx, b.client); err != nil || !ok {
				t.Errorf("%s not cached after LoadAll: %v %v", s.Name(), ok, err)
			}
		}
		if err := reg.LoadAll(ctx, nil); !errors.Is(err, ErrNilClient) {
			t.Fatalf("LoadAll(nil) = %v", err)
		}
	})
}

// An include cycle that no script reaches made every file in it a
// library: the registry loaded without them and said nothing.
func TestIncludeCycleIsAnError(t *testing.T) {
	_, err := NewRegistry(fstest.MapFS{
		"lua/ok.lua":   {Data: []byte("return 1\n")},
		"lua/a.lua":    {Data: []byte("return 1\n--- @include \"b\"\n")},
		"lua/b.lua":    {Data: []byte("\n\n--- @include \"a\"\n")},
		"lua/self.lua": {Data: []byte("--- @include \"self\"\nreturn 1\n")},
	}, nil)

	if !errors.Is(err, ErrSyntax) {
		t.Fatalf("err = %v, want ErrSyntax for the cycles", err)
	}
	for _, want := range []string{
		"lua/b.lua:3: syntax error: include cycle: lua/a.lua -> lua/b.lua -> lua/a.lua",
		"lua/self.lua:1: syntax error: include cycle: lua/self.lua -> lua/self.lua",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "include cycle"); n != 2 {
		t.Errorf("%d cycles reported, want 2:\n%v", n, err)
	}

	// A cycle below a script is reported once, from the script.
	_, err = NewRegistry(fstest.MapFS{
		"lua/main.lua":  {Data: []byte("--- @include \"lib/a\"\nreturn 1\n")},
		"lua/lib/a.lua": {Data: []byte("--- @include \"b\"\n")},
		"lua/lib/b.lua": {Data: []byte("--- @include \"a\"\n")},
	}, nil)

	want := "lua/lib/b.lua:1: syntax error: include cycle: lua/main.lua -> lua/lib/a.lua -> lua/lib/b.lua -> lua/lib/a.lua"
	if err == nil || err.Error() != "redislua: "+want {
		t.Errorf("err = %v, want only %q", err, want)
	}
}

// Names that print badly or not at all (a NUL, a line break, a control
// character, nothing but spaces) are refused wherever a name comes from.
func TestOddNamesAreRefused(t *testing.T) {
	reg, _ := NewRegistry(nil, nil)
	odd := []string{"a\x00b", "a\nb", "a\rb", "a\tb", "\x1b[31mred", "a\x7f", "a\u0085b", "a\u2028b", "evil\u202egnp", " ", "   ", "a/ /b", "\t"}
	for _, name := range odd {
		if _, err := reg.Add(name, "return 1"); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Add(%q) = %v, want ErrInvalidName", name, err)
		}
		if _, err := NewScript(name, "return 1"); !errors.Is(err, ErrInvalidName) {
			t.Errorf("NewScript(%q) = %v, want ErrInvalidName", name, err)
		}
		if _, err := NewRegistry(fstest.MapFS{"lua/" + name + ".lua": {Data: []byte("return 1")}, "lua/ok.lua": {Data: []byte("return 1")}}, nil); !errors.Is(err, ErrInvalidName) {
			t.Errorf("NewRegistry with file %q = %v, want ErrInvalidName", name+".lua", err)
		}
	}
	if len(reg.Scripts()) != 0 {
		t.Errorf("Scripts() = %v", reg.Scripts())
	}
	for _, name := range []string{"with space", "lock/acquire", "ünïcode", "a-b_c.d"} {
		if _, err := reg.Add(name, "return 1"); err != nil {
			t.Errorf("Add(%q) = %v", name, err)
		}
	}
}

// countingFS serves the files named in generated with contents made on
// the fly, n bytes of '-' (n < 0: endless, like /dev/zero), and counts the
// bytes read from them. Their FileInfo (mode, and size 0 whatever their
// length) is that of their MapFS entry.
type countingFS struct {
	files     fstest.MapFS // only Open is exposed: no ReadFile shortcut
	generated map[string]int64
	read      atomic.Int64
}

func (c *countingFS) Open(name string) (fs.File, error) {
	n, ok := c.generated[name]
	if !ok {
		return c.files.Open(name)
	}
	return &generatedFile{fs: c, name: name, left: n}, nil
}

type generatedFile struct {
	fs   *countingFS
	name string
	left int64
}

func (f *generatedFile) Stat() (fs.FileInfo, error) {
	return f.fs.files.Stat(f.name)
}

func (f *generatedFile) Read(p []byte) (int, error) {
	if f.left == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if f.left > 0 && int64(n) > f.left {
		n = int(f.left)
	}
	for i := range p[:n] {
		p[i] = '-'
	}
	if f.left > 0 {
		f.left -= int64(n)
	}
	f.fs.read.Add(int64(n))
	return n, nil
}

func (f *generatedFile) Close() error { return nil }

// Reads stop one byte past MaxScriptSize: a huge include, or a file that
// never ends, costs at most that much memory.
func TestReadsAreBounded(t *testing.T) {
	for _, size := range []int64{64 << 20, -1} {
		fsys := &countingFS{
			files:     fstest.MapFS{"lua/main.lua": {Data: []byte("--- @include \"big.txt\"\nreturn 1\n")}, "lua/big.txt": {}},
			generated: map[string]int64{"lua/big.txt": size},
		}
		_, err := NewRegistry(fsys, nil)
		if !errors.Is(err, ErrScriptTooLarge) || !strings.Contains(err.Error(), "lua/main.lua:1") {
			t.Errorf("include of %d bytes: err = %v, want ErrScriptTooLarge naming lua/main.lua:1", size, err)
		}
		if n := fsys.read.Load(); n > MaxScriptSize+1 {
			t.Errorf("include of %d bytes: read %d bytes, want at most MaxScriptSize+1", size, n)
		}

		fsys = &countingFS{files: fstest.MapFS{"lua/big.lua": {}}, generated: map[string]int64{"lua/big.lua": size}}
		if _, err := NewRegistry(fsys, nil); !errors.Is(err, ErrScriptTooLarge) || !strings.Contains(err.Error(), "lua/big.lua") {
			t.Errorf("script of %d bytes: err = %v, want ErrScriptTooLarge naming lua/big.lua", size, err)
		}
		if n := fsys.read.Load(); n > MaxScriptSize+1 {
			t.Errorf("script of %d bytes: read %d bytes, want at most MaxScriptSize+1", size, n)
		}
	}
}

// Only regular files are read: a named pipe blocks, a device may never
// end. A *.lua that is not a regular file is an error naming it.
func TestNonRegularFilesAreRefused(t *testing.T) {
	for _, mode := range []fs.FileMode{fs.ModeNamedPipe, fs.ModeDevice | fs.ModeCharDevice, fs.ModeSocket, fs.ModeIrregular} {
		fsys := &countingFS{
			files:     fstest.MapFS{"lua/ok.lua": {Data: []byte("return 1")}, "lua/main.lua": {Data: []byte("--- @include \"lib/odd.txt\"\nreturn 1")}},
			generated: map[string]int64{"lua/odd.lua": -1, "lua/lib/odd.txt": -1},
		}
		fsys.files["lua/odd.lua"] = &fstest.MapFile{Mode: mode}
		fsys.files["lua/lib/odd.txt"] = &fstest.MapFile{Mode: mode}
		_, err := NewRegistry(fsys, nil)
		for _, want := range []string{"lua/odd.lua is not a regular file", "lua/main.lua:1", "lua/lib/odd.txt is not a regular file"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%v: err = %v, want it to contain %q", mode, err, want)
			}
		}
		if n := fsys.read.Load(); n != 0 {
			t.Errorf("%v: read %d bytes", mode, n)
		}
	}
}

func includeFS() fstest.MapFS {
	return fstest.MapFS{
		"charge.lua": {Data: []byte("-- @key account\n-- @arg amount\n--- @include \"lib/money\"\nreturn charge(KEYS[1], ARGV[1])\n")},
		"lib/money.lua": {Data: []byte(
			"local function charge(key, amount)\n" +
				"  if tonumber(amount) <= 0 then\n" +
				"    error('amount must be positive')\n" +
				"  end\n" +
				"  return redis.call('INCRBY', key, amount)\n" +
				"end\n")},
	}
}

// Errors in included code name the included file and its own line.
func TestIncludeMapsErrorsToTheIncludedFile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		reg, err := NewRegistry(includeFS(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if names := fmt.Sprint(scriptNames(reg)); names != "[charge]" {
			t.Fatalf("scripts = %s; an included file is a library, not a script", names)
		}
		s := reg.MustScript("charge")
		if n, err := s.Run(ctx, b.client, []string{"acct"}, 5).Int64(); err != nil || n != 5 {
			t.Fatalf("Run = %d, %v", n, err)
		}
		err = s.Run(ctx, b.client, []string{"acct"}, -1).Err()
		var se *ScriptError
		if !errors.As(err, &se) || se.File != "lib/money.lua" || se.Line != 3 || se.Script != "charge" {
			t.Fatalf("err = %v, want lib/money.lua:3 in script charge", err)
		}
		got, err := b.client.ScriptLoad(ctx, s.Source()).Result()
		if err != nil || got != s.SHA() || strings.Contains(s.Source(), "@include") {
			t.Fatalf("SHA %s, SCRIPT LOAD %s, %v: the SHA must be the expanded source's", s.SHA(), got, err)
		}
		if fmt.Sprint(s.Includes()) != "[lib/money.lua]" {
			t.Errorf("Includes() = %v", s.Includes())
		}
	})
}

func TestIncludeProblemsNameTheIncludeLine(t *testing.T) {
	fsys := includeFS()
	fsys["lib/money.lua"] = &fstest.MapFile{Data: []byte("local function charge(key, amount)\n  return (\nend\n")}
	fsys["other.lua"] = &fstest.MapFile{Data: []byte("return 1\n--- @include \"lib/missing\"\n")}
	_, err := NewRegistry(fsys, nil)
	if err == nil {
		t.Fatal("NewRegistry accepted a broken include")
	}
	for _, want := range []string{"lib/money.lua:3", `other.lua:2:`, `cannot include "lib/missing"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
}

func scriptNames(reg *Registry) []string {
	var names []string
	for _, s := range reg.Scripts() {
		names = append(names, s.Name())
	}
	return names
}

// Two scripts with the same source have the same SHA1, the only thing an
// error names: Registry.MapError cannot tell them apart and says so, while
// Run and Script.MapError map with their own script.
func TestSharedSourceErrorsAreMappedByTheirOwnScript(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	body := []byte("local v = redis.call('EXISTS', KEYS[1])\nreturn redis.call('INCR', KEYS[1])\n")
	reg, err := NewRegistry(fstest.MapFS{
		"a.lua": {Data: body},
		"b.lua": {Data: body},
	}, nil)

	if err != nil {
		t.Fatal(err)
	}
	a, bs := reg.MustScript("a"), reg.MustScript("b")
	if a.SHA() != bs.SHA() {
		t.Fatal("different SHAs")
	}
	key := "shared-source"
	if err := b.client.HSet(ctx, key, "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Script{a, bs} {
		err := reg.Run(ctx, b.client, s.Name(), []string{key}).Err()
		var se *ScriptError
		if !errors.As(err, &se) || se.Script != s.Name() || se.File != s.File() || se.Line != 2 || !errors.Is(err, ErrWrongType) {
			t.Errorf("Run(%s) = %#v, want %s:2 of script %s", s.Name(), err, s.File(), s.Name())
		}
	}

	pipe := b.client.Pipeline() // no OptimizePipelines: errors stay raw
	cmd := a.Run(ctx, pipe, []string{key})
	_, _ = pipe.Exec(ctx)
	raw := cmd.Err()
	var se *ScriptError
	if errors.As(raw, &se) {
		t.Fatalf("raw pipeline error already mapped: %v", raw)
	}
	mapped := reg.MapError(raw)
	if errors.As(mapped, &se) {
		t.Errorf("Registry.MapError = %v: a *ScriptError naming %s, but a and b share the SHA1", mapped, se.Script)
	}
	var amb *AmbiguousScriptError
	if !errors.As(mapped, &amb) || fmt.Sprint(amb.Scripts) != "[a b]" || amb.File != "" || amb.Line != 2 || amb.SHA != a.SHA() ||
		!errors.Is(mapped, ErrWrongType) || errors.Unwrap(mapped) != raw || reg.MapError(mapped) != mapped {
		t.Errorf("Registry.MapError = %#v, want an *AmbiguousScriptError for a and b, line 2", mapped)
	}
	if want := "redislua: script a or b (same source), line 2: WRONGTYPE Operation against a key holding the wrong kind of value"; mapped.Error() != want {
		t.Errorf("Error() = %q, want %q", mapped.Error(), want)
	}
	for _, s := range []*Script{a, bs} {
		for _, in := range []error{raw, mapped} {
			err := s.MapError(in)
			if !errors.As(err, &se) || se.Script != s.Name() || se.File != s.File() || se.Line != 2 || !errors.Is(err, ErrWrongType) {
				t.Errorf("%s.MapError(%v) = %v, want %s:2", s.Name(), in, err, s.File())
			}
		}
	}
}

// When the line Redis names is the same line of the same file in every
// script sharing the source, Registry.MapError says where, still naming
// them all. A script added later with that source joins them.
func TestSharedSourceErrorInASharedInclude(t *testing.T) {
	b := realRedis(t)
	ctx := context.Background()
	main := []byte("--- @include \"lib/incr\"\nreturn incr(KEYS[1])\n")
	reg, err := NewRegistry(fstest.MapFS{
		"a.lua":        {Data: main},
		"b.lua":        {Data: main},
		"lib/incr.lua": {Data: []byte("local function incr(key)\n  return redis.call('INCR', key)\nend\n")},
	}, nil)

	if err != nil {
		t.Fatal(err)
	}
	key := "shared-include"
	if err := b.client.HSet(ctx, key, "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	rawError := func(name string) error {
		pipe := b.client.Pipeline()
		cmd := reg.Run(ctx, pipe, name, []string{key})
		_, _ = pipe.Exec(ctx)
		return cmd.Err()
	}
	mapped := reg.MapError(rawError("b"))
	var amb *AmbiguousScriptError
	if !errors.As(mapped, &amb) || fmt.Sprint(amb.Scripts) != "[a b]" || amb.File != "lib/incr.lua" || amb.Line != 2 || !errors.Is(mapped, ErrWrongType) {
		t.Fatalf("Registry.MapError = %#v, want lib/incr.lua:2 for a and b", mapped)
	}
	if want := "redislua: lib/incr.lua:2: WRONGTYPE Operation against a key holding the wrong kind of value (script a or b: same source)"; mapped.Error() != want {
		t.Errorf("Error() = %q, want %q", mapped.Error(), want)
	}

	// c's line 2 is its own: the scripts no longer agree.
	if _, err := reg.Add("c", reg.MustScript("a").Source()); err != nil {
		t.Fatal(err)
	}
	mapped = reg.MapError(rawError("b"))
	if !errors.As(mapped, &amb) || fmt.Sprint(amb.Scripts) != "[a b c]" || amb.File != "" || amb.Line != 2 {
		t.Fatalf("Registry.MapError = %#v, want line 2 for a, b and c, no file", mapped)
	}

	// A script alone with its SHA1 maps as before.
	if _, err := reg.Add("d", "\n"+reg.MustScript("a").Source()); err != nil {
		t.Fatal(err)
	}
	var se *ScriptError
	if err := reg.MapError(rawError("d")); !errors.As(err, &se) || se.Script != "d" || se.File != "d" || se.Line != 3 {
		t.Errorf("Registry.MapError = %v, want script d line 3", err)
	}
}
