package redislua

// Option configures a Registry at construction.
type Option interface {
	apply(*config)
}

// config is what Options set.
type config struct {
	clusterChecks bool
	strict        bool            // warnings refuse scripts too
	ignored       map[string]bool // finding IDs not reported
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithClusterChecks makes the registry's scripts check, on every client,
// that a call's keys share a hash slot, as they always do on a
// *redis.ClusterClient. A cross-slot bug then shows up on a laptop against
// standalone Redis or miniredis, not on the first cluster deploy.
func WithClusterChecks() Option {
	return optionFunc(func(c *config) { c.clusterChecks = true })
}

// WithStrictChecks makes static-check warnings (see Finding) refuse a
// script, as errors do. Use it in CI, or through the CLI's lint -strict.
func WithStrictChecks() Option {
	return optionFunc(func(c *config) { c.strict = true })
}

// WithIgnoredChecks turns off the static checks with the given IDs for
// every script of the registry (a "-- redislua:ignore ID" comment does so
// for one line). An escape hatch for a check that is wrong about your code:
// please report it.
func WithIgnoredChecks(ids ...string) Option {
	return optionFunc(func(c *config) {
		if c.ignored == nil {
			c.ignored = map[string]bool{}
		}
		for _, id := range ids {
			c.ignored[id] = true
		}
	})
}
