# Sourced by scripts/mikofs and scripts/test.sh: installs what mikofs needs on
# a fresh Debian/Ubuntu machine, once. Idempotent and quiet when all is there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The caller's working directory is the user's (a CLI command run inside a
# mount acts on that mount; relative paths are theirs): work in the checkout
# from here and go back at the end.
pushd "$ROOT" >/dev/null

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
# grep reads all of ldconfig's output: with grep -q, ldconfig could die of
# SIGPIPE after the match, and pipefail took that for "missing" (a loaded
# machine ran apt-get from a snapshot script; found by CI, 2026-12-05).
ldconfig -p 2>/dev/null | grep 'libfuse\.so\.2 ' >/dev/null || missing+=(libfuse2)
command -v fusermount >/dev/null 2>&1 || missing+=(fuse)
# npm ci compiles the patched fuse-native binding (node-gyp).
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
# Commands, by name or by path (/usr/bin/python3: the system's, which any
# user can run, not a per-user one first on PATH); the package is the name.
for extra in ${MIKOFS_EXTRA_PACKAGES:-}; do
  command -v "$extra" >/dev/null 2>&1 || missing+=("$(basename "$extra")")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "mikofs: installing ${missing[*]} (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null 2>&1; then
  echo "mikofs: Node.js 20 or newer is required (apt-get install nodejs npm)" >&2
  exit 1
fi

# Dependencies: npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
   || [ ! -f node_modules/fuse-native/build/Release/fuse.node ]; then
  echo "mikofs: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# Build when dist is missing or any source is newer than it.
if [ ! -f dist/cli/main.js ] || [ -n "$(find src schema -newer dist/cli/main.js -print -quit)" ]; then
  echo "mikofs: building" >&2
  npx tsc -p tsconfig.json >&2
  chmod +x dist/cli/main.js
  touch dist/cli/main.js
fi
popd >/dev/null
