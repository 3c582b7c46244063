#!/usr/bin/env bash
# Installs what the benchmark needs on a Debian machine, if missing:
# SIPp (package sip-tester) and Kamailio (package kamailio).
set -euo pipefail
need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ] || need+=(kamailio)
command -v go >/dev/null 2>&1 || { echo "bench: Go is needed to build sipd and the harness" >&2; exit 1; }
[ ${#need[@]} -eq 0 ] && exit 0
echo "bench: installing ${need[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
# The Debian package may start a kamailio service on 5060; the harness
# starts its own, so stop a service that the install just started.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet kamailio 2>/dev/null; then
	$SUDO systemctl stop kamailio || true
fi
