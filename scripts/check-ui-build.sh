#!/usr/bin/env bash
# Fails when the page committed in telemetry/web/static is not what ui/ builds today (someone changed the
# UI and did not run `make ui`). Builds into a temporary folder and compares file by file, so the working
# tree is never touched. Needs ui/node_modules (`npm ci` in ui/, which `make test` runs first).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
(cd "$root/ui" && PEFT_UI_PAGE_OUT="$out" npx --no-install vite build --config vite.page.config.ts)
if ! diff -r "$out" "$root/telemetry/web/static" >"$out.diff" 2>&1; then
  echo "telemetry/web/static is stale: the UI sources in ui/ build to something else." >&2
  echo "Run \`make ui\` and commit telemetry/web/static. Differences:" >&2
  head -c 2000 "$out.diff" | cut -c1-200 >&2
  rm -f "$out.diff"
  exit 1
fi
rm -f "$out.diff"
echo "telemetry/web/static matches ui/ ($(ls "$out" | wc -l) files)"
