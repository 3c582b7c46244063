# sipd's developer targets. The benchmark (bench/README.md) runs sipd and
# Kamailio under the same SIPp load and prints how they compare.

GO ?= go
BENCH_FLAGS ?=

.PHONY: build test bench bench-quick bench-go

build:
	$(GO) build ./...

test:
	./test.sh

# Full comparison: steps of 15 s, 100,000 registrations, 10,000 held calls
# (about an hour on a 2-core machine). PROFILE=1 adds sipd's CPU and allocs
# profiles of the stateful proxy.
bench:
	bench/install-deps.sh
	$(GO) run ./bench/cmd/sipbench $(BENCH_FLAGS)

# Smoke run: steps of 3 s, smaller memory tests (about 10 minutes).
bench-quick:
	bench/install-deps.sh
	$(GO) run ./bench/cmd/sipbench -quick $(BENCH_FLAGS)

# Go benchmarks of the hot paths, with allocations.
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./sip ./transaction ./proxy ./storage/... ./location ./auth
