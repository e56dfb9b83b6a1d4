# The library's checks are `go test ./...` (see .ci/run). The benchmarks are
# a separate module, never run by CI: they compare timings, which assert
# nothing on a shared machine.

COUNT ?= 10

.PHONY: bench
bench: ## run every benchmark COUNT times and print benchstat tables
	COUNT=$(COUNT) ./benchmarks/bench.sh
