#!/usr/bin/env bash
# The Quickstart demo: a throwaway CoreRoot, the embedded SQLite store, and a look at its state.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(mktemp -d "${TMPDIR:-/tmp}/agentic-demo-XXXXXX")
export CORE_WORKSPACE="$root"
agentic() { node dist/cli/main.js "$@"; }

echo "== agentic doctor (CoreRoot $root)"
agentic doctor
echo
echo "== agentic status"
agentic status
echo
echo "Demo state is in $root (remove it when done)."
