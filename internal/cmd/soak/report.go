package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

func printHeader(out io.Writer, cfg config, interrupted bool) {
	fmt.Fprintf(out, "soak: -duration %v -workers %d -mode %s -seed %d -flush-every %v -kill-every %v -restart-every %v -max-recovery %v -client-retries %d\n",
		cfg.duration, cfg.workers, cfg.mode, cfg.seed, cfg.flushEvery, cfg.killEvery, cfg.restartEvery, cfg.maxRecovery, cfg.retries)
	fmt.Fprintf(out, "go %s, GOMAXPROCS %d, %d CPUs\n", runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU())
	if interrupted {
		fmt.Fprintln(out, "INTERRUPTED: the run was cut short by a signal")
	}
}

// report prints the target's figures and checks, and returns whether
// every check passed.
func (s *soak) report(out io.Writer) bool {
	elapsed := s.stopped.Sub(s.started)
	fmt.Fprintf(out, "\n=== %s: %v, %d workers\n\n", s.t.name, elapsed.Round(time.Millisecond), s.cfg.workers)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "operation\tok\tok/s\tp50\tp99\tmax\t")
	for _, c := range classNames {
		fmt.Fprintf(tw, "%s\t", c)
	}
	fmt.Fprintln(tw)
	for o := range numOps {
		st := &s.ops[o]
		if st.ok.Load() == 0 && st.errorCount() == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%v\t%v\t%v\t", op(o), st.ok.Load(),
			float64(st.ok.Load())/elapsed.Seconds(),
			st.percentile(0.50), st.percentile(0.99), time.Duration(st.maxNano.Load()).Round(time.Microsecond))
		for c := range numClasses {
			fmt.Fprintf(tw, "%d\t", st.errs[c].Load())
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintln(out, "(p50 and p99 are histogram bucket bounds, accurate within a factor of 2)")
	var vok, verr int64
	for o := range numOps {
		vok += s.verifyOps[o].ok.Load()
		verr += s.verifyOps[o].errorCount()
	}
	fmt.Fprintf(out, "final checks: %d calls, %d errors (not in the table)\n", vok, verr)

	if samples := s.samples.list(); len(samples) > 0 {
		fmt.Fprintln(out, "\nerror messages (digits folded to N):")
		for _, sm := range samples {
			fmt.Fprintf(out, "  %-10s %7d  %s\n", sm.class, sm.n, sm.msg)
		}
	}

	fmt.Fprintln(out, "\noutcomes:")
	for _, name := range s.outcomes.names() {
		fmt.Fprintf(out, "  %-70s %d\n", name, s.outcomes.get(name))
	}

	names, counts, missed := s.server.sorted()
	fmt.Fprintf(out, "\nserver side, summed over restarts (INFO commandstats, errorstats, stats; %d reads failed):\n", missed)
	for _, name := range names {
		fmt.Fprintf(out, "  %-70s %d\n", name, counts[name])
	}

	fmt.Fprintln(out, "\nfaults (recovery: min / median / max, from the fault, or from the server being back for restarts):")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  fault\tcount\trecovery\tserver down\tnot recovered\tconnections killed")
	for _, fs := range summarize(s.faults.all()) {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%d\t%d\n", fs.kind, fs.count, spread(fs.recovery), spread(fs.down), fs.failed, fs.killed)
	}
	tw.Flush()
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	header := false
	for _, r := range s.faults.all() {
		if r.down == 0 {
			continue
		}
		if !header {
			fmt.Fprintln(out, "\nrestarts, one by one:")
			fmt.Fprintln(tw, "  at\tnode\tkind\tserver down\trecovery")
			header = true
		}
		fmt.Fprintf(tw, "  %v\t%s\t%s\t%v\t%v\n", r.at.Round(time.Second), r.node, r.kind,
			r.down.Round(time.Millisecond), r.recovery.Round(time.Millisecond))
	}
	tw.Flush()

	fmt.Fprintln(out, "\nchecks:")
	ok := true
	for _, check := range allChecks {
		n, msgs := s.v.failures(check)
		status := "PASS"
		if n > 0 {
			status, ok = "FAIL", false
		}
		line := fmt.Sprintf("  %s  %s", status, check)
		if d := s.v.detail(check); d != "" {
			line += " (" + d + ")"
		}
		fmt.Fprintln(out, line)
		if n > 0 {
			fmt.Fprintf(out, "        %d violations, first ones:\n        %s\n", n, strings.Join(msgs, "\n        "))
		}
	}
	return ok
}
