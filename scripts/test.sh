#!/usr/bin/env bash
# The whole test suite: engine unit tests, then native tests on real FUSE mounts.
# Installs what it needs first (libfuse2, fuse, npm ci, build).
MIKOFS_EXTRA_PACKAGES="git" source "$(dirname "${BASH_SOURCE[0]}")/ensure.sh"
status=0
npx vitest run --config vitest.config.ts || status=$?
npx vitest run --config native-test/vitest.config.ts || status=$?
if grep -qE ' fuse(\.[a-z0-9_-]+)? ' /proc/mounts; then
  echo "test.sh: FUSE mounts left behind by the tests:" >&2
  grep -E ' fuse(\.[a-z0-9_-]+)? ' /proc/mounts >&2
  status=1
fi
exit $status
