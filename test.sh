#!/usr/bin/env bash
# Runs every test of sipd: vet, the unit and interop tests of the product
# module, and the benchmark comparison module's tests. It installs what the
# tests need on a fresh Debian machine first. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")"

# Interop tests drive sipd with real peers: SIPp (Debian package sip-tester),
# baresip (Debian package baresip-core) and Kamailio as a second proxy
# (Debian package kamailio; its binary is in /usr/sbin).
need_pkgs=()
command -v sipp >/dev/null 2>&1 || need_pkgs+=(sip-tester)
command -v baresip >/dev/null 2>&1 || need_pkgs+=(baresip-core)
command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ] || need_pkgs+=(kamailio)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	echo "== installing ${need_pkgs[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

echo "== go vet"
go vet ./...

echo "== go test"
go test -race -count=1 ./...

# The race detector changes allocation counts, so the tests that hold hot
# paths to their allocations run once more without it.
echo "== go test (allocation checks, no race detector)"
go test -count=1 ./sip ./auth ./transaction ./proxy

if [ -d bench/parsecmp ]; then
	echo "== bench/parsecmp (vet, test)"
	(cd bench/parsecmp && go vet ./... && go test -count=1 ./...)
fi
