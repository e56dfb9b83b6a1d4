package luacheck

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/redislua/redislua/internal/redistest"
)

// listGlobals returns every global of a script and, for each global table
// but _G, "table.member" for each of its fields. Redis 7 protects _G from
// writes, not from pairs.
const listGlobals = `local out = {}
for k, v in pairs(_G) do
  out[#out + 1] = k
  if type(v) == 'table' and k ~= '_G' then
    for m in pairs(v) do out[#out + 1] = k .. '.' .. m end
  end
end
return out`

// The checker's globals and library members are exactly those of the
// server, both ways: a global Redis lacks (os on 7.0) is refused, and one
// it has is never reported.
func TestGlobalsMatchRedis(t *testing.T) {
	srv := redistest.Start(t)
	names, err := srv.Client(t).Eval(context.Background(), listGlobals, nil).StringSlice()
	if err != nil {
		t.Fatal(err)
	}
	var server []string
	serverMembers := map[string][]string{}
	for _, n := range names {
		if table, member, ok := strings.Cut(n, "."); ok {
			serverMembers[table] = append(serverMembers[table], member)
		} else {
			server = append(server, n)
		}
	}
	compare(t, "globals", server, keys(scriptGlobals))
	for table, members := range libraryMembers {
		compare(t, table, serverMembers[table], keys(members))
	}
	for table := range serverMembers {
		// redis grows with every release and KEYS/ARGV are per call.
		if _, ok := libraryMembers[table]; !ok && table != "redis" && !writableGlobals[table] {
			t.Errorf("the server's table %s is not in libraryMembers", table)
		}
	}
	for name := range missingGlobalHints {
		if slices.Contains(server, name) {
			t.Errorf("%s has a hint saying it is missing, but the server has it", name)
		}
	}
	// The case the globals list exists for.
	fs, err := Check("return os.time()\n", Config{})
	if err != nil || len(fs) != 1 || fs[0].ID != IDUndefinedGlobal || fs[0].Severity != Error {
		t.Errorf("os.time(): findings %v, %v; want one %s error", fs, err, IDUndefinedGlobal)
	}
}

func compare(t *testing.T, what string, server, checker []string) {
	t.Helper()
	for _, n := range server {
		if !slices.Contains(checker, n) {
			t.Errorf("%s: the server has %s, the checker does not", what, n)
		}
	}
	for _, n := range checker {
		if !slices.Contains(server, n) {
			t.Errorf("%s: the checker has %s, the server does not", what, n)
		}
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
