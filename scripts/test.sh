#!/usr/bin/env bash
# test.sh — run mamori's whole test suite against real daemons.
#
# Starts (installing if needed) the integration daemons with
# scripts/itest-daemons.sh, then runs every Go test with the race detector and
# MAMORI_INTEGRATION=1, so that a missing daemon fails a test instead of
# skipping it. Extra arguments go to `go test` (e.g. -run TestX ./internal/...).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1; then
  export PATH=$PATH:/usr/local/go/bin
fi
echo "==> $(go version)"

echo "==> starting the integration daemons (scripts/itest-daemons.sh)"
bash scripts/itest-daemons.sh start
eval "$(bash scripts/itest-daemons.sh env)"
export MAMORI_INTEGRATION=1

pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
echo "==> go test -race ${pkgs[*]}"
go test -race -count=1 -timeout 20m "${pkgs[@]}"
