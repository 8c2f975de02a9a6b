#!/usr/bin/env bash
# fuzz.sh — run every fuzz target briefly (FUZZTIME each, default 20000x):
# the config loader, the API's JSON bodies, the agent wire and config, job
# reports, and the runbook parser and markdown renderer. A crash fails;
# the failing input is kept under testdata/fuzz/ of the package.
#
# The budget is a count of inputs, not a duration: with a duration, Go 1.26's
# fuzz coordinator can report "context deadline exceeded" as a failure when
# the time runs out while a worker is busy on a loaded machine (no input is
# at fault; fixed in Go 1.27). A count has no deadline to race. An input that
# hangs still fails, at -timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-20000x}
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
  go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" -timeout 5m "$1"
done
