#!/usr/bin/env bash
# fuzz.sh — run every fuzz target briefly (FUZZTIME each, default 10s):
# the config loader, the API's JSON bodies, the agent wire and config, job
# reports, and the runbook parser and markdown renderer. A crash fails;
# the failing input is kept under testdata/fuzz/ of the package.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
targets=(
  "./internal/config FuzzParse"
  "./internal/api FuzzJSONBodies"
  "./internal/agentapi FuzzDecodeBatch"
  "./internal/agentapi FuzzParsePushReport"
  "./internal/agent FuzzParseConfig"
  "./internal/runbook FuzzParse"
  "./internal/runbook FuzzRenderHTML"
)
for t in "${targets[@]}"; do
  set -- $t
  echo "==> fuzz $1 $2 ($fuzztime)"
  go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" "$1"
done
