#!/usr/bin/env bash
# The Quickstart demo: a throwaway CoreRoot on the embedded SQLite store, a runner, and three
# real `shell` dispatches into a copy of examples/sample-repo — a scripted codemod, a test
# run, and a task that asks a question and is resumed with an answer — each checked by the
# detected QA (npm test); then the review loop: review, diff, and accept, which delivers the
# codemod into the sample repository as a branch.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=$(mktemp -d "${TMPDIR:-/tmp}/agentic-demo-XXXXXX")
export CORE_WORKSPACE="$demo/core"
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-agentic demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@agentic.invalid}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-agentic demo}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-demo@agentic.invalid}"
agentic() { node dist/cli/main.js --log-level warn "$@"; }

repo="$demo/sample-repo"
cp -R examples/sample-repo "$repo"
git -C "$repo" init -q -b main && git -C "$repo" add . && git -C "$repo" commit -q -m "sample repo"

# Started directly (not through the function) so $! is the daemon itself and the trap stops it.
node dist/cli/main.js --log-level warn daemon >/dev/null 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null && wait $daemon 2>/dev/null || true' EXIT

echo "== dispatching three shell tasks into $repo"
agentic dispatch --repo "$repo" --agent shell --issue 1 \
  --task "sed -i 's/var /const /g' src/slug.js && git commit -qam 'Use const' && git log --oneline -1"
agentic dispatch --repo "$repo" --agent shell --issue 2 --task "npm test --silent"
agentic dispatch --repo "$repo" --agent shell --issue 3 \
  --task "if [ -f ANSWER.md ]; then echo \"License: \$(cat ANSWER.md)\" > LICENSE.txt; else printf 'Which license should new files carry?' > BLOCKED.md; fi"

# Idle: nothing queued or running, and no finished run still being checked (harvest, QA, hand-back).
wait_idle() {
  for _ in $(seq 1 300); do
    agentic status --json | node -e 'const s=JSON.parse(require("fs").readFileSync(0,"utf8")); process.exit(s.counts.queued + s.counts.running === 0 && s.workspaces.every((w) => w.delivery !== "checking") ? 0 : 1)' && return 0
    sleep 0.2
  done
  echo "timed out waiting for the dispatches" >&2; return 1
}
wait_idle
echo
echo "== agentic status"
agentic status
echo
echo "== the blocked task asked a question; answer it and resume"
agentic resume core/sample-repo/task-3 --answer "MIT"
wait_idle
agentic status --workspace core/sample-repo/task-3
echo
echo "== logs and journal of core/sample-repo/task-1"
agentic logs core/sample-repo/task-1
tail -n 1 "$CORE_WORKSPACE/workspace/core/sample-repo/task-1/.meta/journal.jsonl"
echo
echo "== agentic review: finished work waiting for you"
agentic review
echo
echo "== agentic diff core/sample-repo/task-1"
agentic diff core/sample-repo/task-1
echo
echo "== agentic accept core/sample-repo/task-1: delivered into the sample repo as a branch"
agentic accept core/sample-repo/task-1
git -C "$repo" branch --list 'agent/*'
git -C "$repo" log --oneline -1 "$(git -C "$repo" branch --list 'agent/sed-*' --format='%(refname:short)')"
echo
echo "Demo state is in $demo (remove it when done)."
