package benchmarks

import (
	"strconv"
	"strings"
	"testing"

	"github.com/redislua/redislua"
)

// NewScript parses, checks and hashes a script at start-up, so its cost on
// a hostile or accidental input (a minified file, a generated header, a
// file of blank lines) bounds how long a process takes to start. These
// inputs once took seconds to minutes each.

// realisticBlock is ordinary script code without comments, so that copies
// of it can be joined on one line as a minifier would.
const realisticBlock = `do
  local key = KEYS[1]
  local now = tonumber(ARGV[1])
  local ttl = tonumber(ARGV[2]) or 60
  local fields = redis.call('HMGET', key, 'count', 'reset', 'owner')
  local count, reset = tonumber(fields[1]) or 0, tonumber(fields[2]) or 0
  if reset <= now then
    count, reset = 0, now + ttl * 1000
  end
  for i = 1, #ARGV - 2 do
    if ARGV[i + 2] ~= '' and string.sub(ARGV[i + 2], 1, 1) ~= '#' then
      count = count + 1
    end
  end
  redis.call('HSET', key, 'count', count, 'reset', reset, 'owner', fields[3] or 'none')
  redis.call('PEXPIREAT', key, reset)
end
`

// pathologicalInputs returns the inputs by name, each as large as
// redislua.MaxScriptSize allows.
func pathologicalInputs() []struct{ name, src string } {
	repeatTo := func(unit string, size int) string { return strings.Repeat(unit, size/len(unit)) }
	oneLine := strings.Join(strings.Fields(realisticBlock), " ") + " "
	keys := func(size int) string { return "return {" + repeatTo("KEYS[1],", size) + "}" }
	header := func(size int) string {
		var b strings.Builder
		for i := 0; b.Len() < size-40; i++ {
			b.WriteString("-- @key k")
			b.WriteString(strings.Repeat("x", i%7))
			b.WriteString(strconv.Itoa(i))
			b.WriteString("\n")
		}
		return b.String() + "return 1\n"
	}
	unknownCommands := func(size int) string {
		var b strings.Builder
		for i := 0; b.Len() < size; i++ {
			b.WriteString("redis.call('cmd")
			b.WriteString(strconv.Itoa(i))
			b.WriteString("')\n")
		}
		return b.String()
	}
	return []struct{ name, src string }{
		{"header-keys-max", header(redislua.MaxScriptSize)},
		{"newlines-max", strings.Repeat("\n", redislua.MaxScriptSize-16) + "return 1"},
		{"unknown-commands-lines-max", unknownCommands(redislua.MaxScriptSize - 32)},
		{"concat-chain-max", "return " + repeatTo("a..", redislua.MaxScriptSize-16) + "a"},
		{"parentheses-max", "return " + strings.Repeat("(", redislua.MaxScriptSize/2-8) + strings.Repeat(")", redislua.MaxScriptSize/2-8)},
		{"left-chain-max", "return 1" + repeatTo("+1", redislua.MaxScriptSize-16)},
		{"assign-one-line-max", repeatTo("x = x ", redislua.MaxScriptSize)},
		{"keys-one-line-max", keys(redislua.MaxScriptSize - 16)},
		{"realistic-lines-max", repeatTo(realisticBlock, redislua.MaxScriptSize)},
		{"realistic-one-line-max", repeatTo(oneLine, redislua.MaxScriptSize)},
	}
}

// BenchmarkNewScriptPathological measures NewScript on inputs that once
// made it super-linear. Whether the script is accepted does not matter
// (x = x is refused as a global write): the time and memory to say so do.
func BenchmarkNewScriptPathological(b *testing.B) {
	for _, in := range pathologicalInputs() {
		b.Run("input="+in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.src)))
			for b.Loop() {
				_, _ = redislua.NewScript("p.lua", in.src)
			}
		})
	}
}
