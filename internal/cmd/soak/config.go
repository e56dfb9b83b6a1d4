package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// config is what the flags say.
type config struct {
	duration     time.Duration
	workers      int
	mode         string // standalone, cluster or both
	seed         int64
	flushEvery   time.Duration
	killEvery    time.Duration
	restartEvery time.Duration
	maxRecovery  time.Duration
	retries      int // the work clients' MaxRetries
}

// maxDuration caps -duration, so that a typo cannot run for days.
const maxDuration = 2 * time.Hour

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "how long the workers run (at most 2h)")
	fs.IntVar(&c.workers, "workers", 16, "worker goroutines per target")
	fs.StringVar(&c.mode, "mode", "both", "targets: standalone, cluster or both (run at the same time)")
	fs.Int64Var(&c.seed, "seed", 1, "seed of the workers' random choices")
	fs.DurationVar(&c.flushEvery, "flush-every", 3*time.Second, "SCRIPT FLUSH on every node this often (0: never)")
	fs.DurationVar(&c.killEvery, "kill-every", 7*time.Second, "CLIENT KILL TYPE normal on every node this often (0: never)")
	fs.DurationVar(&c.restartEvery, "restart-every", 20*time.Second, "restart a node this often, alternately clean and after SIGKILL (0: never)")
	fs.DurationVar(&c.maxRecovery, "max-recovery", 10*time.Second, "longest recovery after a fault before the check fails")
	fs.IntVar(&c.retries, "client-retries", -1, "go-redis MaxRetries of the work clients (-1: none; go-redis's default is 3)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return c, c.validate()
}

func (c config) validate() error {
	switch {
	case c.duration <= 0 || c.duration > maxDuration:
		return fmt.Errorf("-duration must be above 0 and at most %v", maxDuration)
	case c.workers < 1 || c.workers > 1000:
		return errors.New("-workers must be between 1 and 1000")
	case c.mode != "standalone" && c.mode != "cluster" && c.mode != "both":
		return errors.New("-mode must be standalone, cluster or both")
	case c.flushEvery < 0 || c.killEvery < 0 || c.restartEvery < 0:
		return errors.New("fault intervals must not be negative")
	case c.maxRecovery <= 0:
		return errors.New("-max-recovery must be above 0")
	case c.retries < -1:
		return errors.New("-client-retries must be -1 or more")
	}
	return nil
}

// modes returns the targets to run.
func (c config) modes() []string {
	if c.mode == "both" {
		return []string{"standalone", "cluster"}
	}
	return []string{c.mode}
}
