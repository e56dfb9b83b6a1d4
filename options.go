package redislua

// Option configures a Registry at construction.
type Option interface {
	apply(*config)
}

// config is what Options set.
type config struct{}
