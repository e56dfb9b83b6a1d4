# The library's checks are `go test ./...` (see .ci/run). The benchmarks are
# a separate module; CI runs each of them once as a smoke test, never for
# timings, which assert nothing on a shared machine.

COUNT ?= 10

.PHONY: bench
bench: ## run every benchmark COUNT times and print benchstat tables
	COUNT=$(COUNT) ./benchmarks/bench.sh
