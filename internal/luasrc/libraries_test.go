package luasrc

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLibraries(t *testing.T) {
	files := map[string]string{
		"main.lua":     "--- @include \"lib/a\"\rreturn 1",
		"lib/a.lua":    "--- @include \"b\"\n",
		"lib/b.lua":    "return 2\n",
		"x.lua":        "\n--- @include \"y\"\n--- @include \"lib/b\"\n",
		"y.lua":        "--- @include \"x\"\n--- @include \"z\"\n",
		"z.lua":        "return 3\n",
		"self.lua":     "-- @key k\r\n--- @include \"self\"\r\n",
		"missing.lua":  "--- @include \"nowhere\"\n",
		"main2.lua":    "--- @include \"loop/p\"\n",
		"loop/p.lua":   "--- @include \"q\"\n",
		"loop/q.lua":   "--- @include \"p\"\n",
		"crossed.lua":  "--- @include \"crossed2\"\n--- @include \"crossed3\"\n",
		"crossed2.lua": "--- @include \"crossed\"\n",
		"crossed3.lua": "--- @include \"crossed\"\n",
	}
	libs, cycles := Libraries(files)
	want := "crossed.lua crossed2.lua crossed3.lua lib/a.lua lib/b.lua loop/p.lua loop/q.lua nowhere.lua self.lua x.lua y.lua z.lua"
	if got := strings.Join(slices.Sorted(maps.Keys(libs)), " "); got != want {
		t.Errorf("libraries = %s\nwant        %s", got, want)
	}
	var got []string
	for _, c := range cycles {
		got = append(got, c.Error())
	}
	// The loop below main2.lua is Expand's to report, from main2.lua.
	wantCycles := []string{
		"crossed2.lua:1: include cycle: crossed.lua -> crossed2.lua -> crossed.lua",
		"crossed3.lua:1: include cycle: crossed.lua -> crossed3.lua -> crossed.lua",
		"self.lua:2: include cycle: self.lua -> self.lua",
		"y.lua:1: include cycle: x.lua -> y.lua -> x.lua",
	}
	if !reflect.DeepEqual(got, wantCycles) {
		t.Errorf("cycles:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantCycles, "\n"))
	}
	if len(cycles) > 0 && fmt.Sprint(cycles[0].Cycle) != "[crossed.lua crossed2.lua crossed.lua]" {
		t.Errorf("Cycle = %v", cycles[0].Cycle)
	}
}
