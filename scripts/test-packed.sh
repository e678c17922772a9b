#!/usr/bin/env bash
# Installs the packed package into a fresh temporary folder, as a user would, and runs the
# node:test suites (ESM and CJS) and the TypeScript check of the usage example there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d -t wes-consumer-XXXXXX)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack "${PKG_OUT:-$root/pkg}" --pack-destination "$work" --silent >/dev/null
tarball=$(ls "$work"/wasm-event-store-*.tgz)
cat > package.json <<JSON
{ "name": "wes-consumer", "private": true, "version": "0.0.0" }
JSON
# The tests' own dependencies, at the versions tests/js/package.json pins.
fake_idb=$(node -p "require('$root/tests/js/package.json').devDependencies['fake-indexeddb']")
npm install --no-audit --no-fund --loglevel=error "$tarball" "fake-indexeddb@$fake_idb" >/dev/null
cp "$root"/tests/js/packed/*.test.mjs "$root"/tests/js/packed/*.test.cjs . 2>/dev/null || true
cp -r "$root/tests/js/packed/types" ./types
[ -d "$root/tests/js/packed/fixtures" ] && cp -r "$root/tests/js/packed/fixtures" ./fixtures

echo "[test-js] type-checking types/usage.ts against the packed index.d.ts"
"$root/tests/js/node_modules/.bin/tsc" -p types

# TESTS: a subset while working on something, e.g. TESTS='file-storage*.test.mjs'.
echo "[test-js] node --test in $work"
# shellcheck disable=SC2086 # TESTS is a list of globs
node --test --test-reporter=spec ${TESTS:-./*.test.mjs ./*.test.cjs}
