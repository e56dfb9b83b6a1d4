package redislua

import (
	"context"
	"errors"
	"strings"
	"sync"
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
	if got := strings.Join(names, " "); got != "lock/acquire=lua/lock/acquire.lua transfer=lua/transfer.lua" {
		t.Fatalf("scripts = %s", got)
	}
}

func TestNewRegistryKeepsTopDirectoriesWhenThereAreSeveral(t *testing.T) {
	reg, err := NewRegistry(fstest.MapFS{
		"a/x.lua": {Data: []byte("return 1")},
		"b/y.lua": {Data: []byte("return 1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Script("a/x"); err != nil {
		t.Fatal(err)
	}
}

func TestNewRegistryReportsEveryBadFile(t *testing.T) {
	_, err := NewRegistry(fstest.MapFS{
		"lua/good.lua":  {Data: []byte("return 1")},
		"lua/bad.lua":   {Data: []byte("return (")},
		"lua/worse.lua": {Data: []byte("local = 2")},
		"lua/empty.lua": {Data: nil},
	})
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
	reg, err := NewRegistry(nil)
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
	reg, _ := NewRegistry(nil)
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
		"acquire": `"lock/acquire"`,
		"zzz":     `unknown script "zzz"`,
		"":        `unknown script ""`,
	} {
		err := reg.Run(context.Background(), b.client, name, nil).Err()
		if !errors.Is(err, ErrUnknownScript) || !strings.Contains(err.Error(), want) {
			t.Errorf("Run(%q) = %v, want ErrUnknownScript mentioning %s", name, err, want)
		}
	}
	if sent := b.sent.take(); len(sent) != 0 {
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
		b.sent.take()
		if err := reg.LoadAll(ctx, b.client); err != nil {
			t.Fatal(err)
		}
		if sent := b.sent.take(); len(sent) != 3 || count(sent, "script") != 3 {
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

func TestNewRegistryStripsAChainOfSingleDirectories(t *testing.T) {
	reg, err := NewRegistry(fstest.MapFS{
		"testdata/lua/a.lua":     {Data: []byte("return 1")},
		"testdata/lua/sub/b.lua": {Data: []byte("return 1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "sub/b"} {
		if _, err := reg.Script(name); err != nil {
			t.Error(err)
		}
	}
}

// An include cycle that no script reaches made every file in it a
// library: the registry loaded without them and said nothing.
func TestIncludeCycleIsAnError(t *testing.T) {
	_, err := NewRegistry(fstest.MapFS{
		"lua/ok.lua":   {Data: []byte("return 1\n")},
		"lua/a.lua":    {Data: []byte("return 1\n--- @include \"b\"\n")},
		"lua/b.lua":    {Data: []byte("\n\n--- @include \"a\"\n")},
		"lua/self.lua": {Data: []byte("--- @include \"self\"\nreturn 1\n")},
	})
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
	})
	want := "lua/lib/b.lua:1: syntax error: include cycle: lua/main.lua -> lua/lib/a.lua -> lua/lib/b.lua -> lua/lib/a.lua"
	if err == nil || err.Error() != "redislua: "+want {
		t.Errorf("err = %v, want only %q", err, want)
	}
}
