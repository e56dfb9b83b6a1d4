package redislua

// RegistryOptions configures a Registry; a nil *RegistryOptions means
// every default. The module configures everything with option structs, as
// go-redis does (redis.Options): the fields are documented in one place,
// the zero value of each is its default, and constructors check them all
// before returning.
type RegistryOptions struct {
	// ClusterChecks makes the registry's scripts check, on every client,
	// that a call's keys share a hash slot, as they always do on a
	// *redis.ClusterClient. A cross-slot bug then shows up on a laptop
	// against standalone Redis or miniredis, not on the first cluster
	// deploy.
	ClusterChecks bool

	// StrictChecks makes static-check warnings (see Finding) refuse a
	// script, as errors do. Use it in CI, or through the CLI's lint
	// -strict.
	StrictChecks bool

	// IgnoredChecks turns off the static checks with these IDs for every
	// script of the registry (a "-- redislua:ignore ID" comment does so
	// for one line). An escape hatch for a check that is wrong about your
	// code: please report it.
	IgnoredChecks []string
}

// config is what a Script is built with.
type config struct {
	clusterChecks bool
	strict        bool            // warnings refuse scripts too
	ignored       map[string]bool // finding IDs not reported
}

// config returns the options as a Script reads them.
func (o *RegistryOptions) config() config {
	if o == nil {
		return config{}
	}
	c := config{clusterChecks: o.ClusterChecks, strict: o.StrictChecks}
	for _, id := range o.IgnoredChecks {
		if c.ignored == nil {
			c.ignored = map[string]bool{}
		}
		c.ignored[id] = true
	}
	return c
}
