package redislua

// Option configures a Registry at construction.
type Option interface {
	apply(*config)
}

// config is what Options set.
type config struct {
	clusterChecks bool
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
