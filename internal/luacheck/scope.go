package luacheck

// origin is what the checker knows about where a value comes from. It is
// tracked for local variables with a simple flow: a local takes the origin
// of the last value assigned to it, in source order.
type origin uint8

const (
	fromUnknown   origin = iota // anything the checker cannot see through
	fromKeys                    // an element of KEYS
	fromParam                   // a function parameter: trusted, callers pass keys
	fromKeysTable               // KEYS itself, or a table built only from KEYS elements
	fromLiteral                 // a string or number literal
	fromBuilt                   // a string built in the script: .., string.format, table.concat
	fromArgv                    // ARGV[n] as is, a string
	fromRedis                   // the redis table
	fromRedisCall               // redis.call or redis.pcall
	fromArgvTable               // a function callback's args parameter
)

// trustedKey reports whether a value of this origin is accepted as a key.
func (o origin) trustedKey() bool {
	return o == fromKeys || o == fromParam || o == fromUnknown
}

// variable is a local variable, function parameter or loop variable.
type variable struct {
	origin origin
	number redisNumber // for the cjson-number check
}

// scope is one lexical block.
type scope struct {
	parent *scope
	vars   map[string]*variable
}

func (s *scope) declare(name string, o origin) {
	if s.vars == nil {
		s.vars = make(map[string]*variable)
	}
	s.vars[name] = &variable{origin: o}
}

// lookup finds the innermost visible local called name; nil means the name
// is a global.
func (s *scope) lookup(name string) *variable {
	for ; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v
		}
	}
	return nil
}
