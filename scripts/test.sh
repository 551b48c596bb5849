#!/usr/bin/env bash
# The whole test suite: engine unit tests, then native tests on real FUSE mounts.
# Installs what it needs first (libfuse2, fuse, npm ci, build).
MIKOFS_EXTRA_PACKAGES="git python3 /usr/bin/python3" source "$(dirname "${BASH_SOURCE[0]}")/ensure.sh"
cd "$ROOT"
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0
npx vitest run --config vitest.config.ts --reporter=default --reporter=json --outputFile="$results/unit.json" || status=$?
npx vitest run --config native-test/vitest.config.ts --reporter=default --reporter=json --outputFile="$results/native.json" || status=$?
if grep -qE ' fuse(\.[a-z0-9_-]+)? ' /proc/mounts; then
  echo "test.sh: FUSE mounts left behind by the tests:" >&2
  grep -E ' fuse(\.[a-z0-9_-]+)? ' /proc/mounts >&2
  status=1
fi
# One closing line for both runs: "N passed, N failed[, N skipped]".
node -e '
  const fs = require("fs");
  let p = 0, f = 0, s = 0;
  for (const file of process.argv.slice(1)) {
    if (!fs.existsSync(file)) { f++; continue; }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    // A file that failed with no failed test (it did not load) counts once.
    const broken = (r.testResults || []).filter((t) => t.status === "failed" && !(t.assertionResults || []).some((a) => a.status === "failed")).length;
    p += r.numPassedTests; f += r.numFailedTests + broken; s += r.numPendingTests + (r.numTodoTests || 0);
  }
  console.log(`${p} passed, ${f} failed` + (s ? `, ${s} skipped` : ""));
' "$results/unit.json" "$results/native.json"
exit $status
