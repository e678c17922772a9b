#!/usr/bin/env bash
# Installs the packed package into a fresh temporary folder, as a user would, and runs the
# node:test suites (ESM and CJS) and the TypeScript check of the usage example there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# The PostgreSQL suites need a server: a private one for this run, unless one is given.
if [ -z "${WES_TEST_DATABASE_URL:-}" ]; then
  exec "$root/scripts/with-postgres.sh" "$0" "$@"
fi
work=$(mktemp -d -t wes-consumer-XXXXXX)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack "${PKG_OUT:-$root/pkg}" --pack-destination "$work" --silent >/dev/null
tarball=$(ls "$work"/wasm-event-store-*.tgz)
cat > package.json <<JSON
{ "name": "wes-consumer", "private": true, "version": "0.0.0" }
JSON
# The tests' own dependencies, at the versions tests/js/package.json pins.
pinned() { node -p "require('$root/tests/js/package.json').devDependencies['$1']"; }
npm install --no-audit --no-fund --loglevel=error "$tarball" "fake-indexeddb@$(pinned fake-indexeddb)" \
  "@types/node@$(pinned @types/node)" "pg@$(pinned pg)" "@types/pg@$(pinned @types/pg)" >/dev/null
cp "$root"/tests/js/packed/*.test.mjs "$root"/tests/js/packed/*.test.cjs . 2>/dev/null || true
cp -r "$root/tests/js/packed/types" ./types
[ -d "$root/tests/js/packed/fixtures" ] && cp -r "$root/tests/js/packed/fixtures" ./fixtures

# The types in every kind of project a user may have: TypeScript 5.9 and the current major, each
# with the package's own .d.ts files checked (no skipLibCheck).
for tsc in "$root/tests/js/node_modules/typescript/bin/tsc" "$root/tests/js/node_modules/typescript7/bin/tsc"; do
  version=$("$tsc" --version | cut -d' ' -f2)
  configs="types/tsconfig.json types/tsconfig.node-only.json types/tsconfig.dom-bundler.json"
  # moduleResolution node10 is gone from TypeScript 7 (an error there); 5.x still has it.
  case "$version" in 5.*) configs="$configs types/tsconfig.node10.json" ;; esac
  for config in $configs; do
    echo "[test-js] tsc $version -p $config"
    "$tsc" -p "$config"
  done
done

# The README test type-checks the README's TypeScript example with the pinned tsc.
export WES_TSC="$root/tests/js/node_modules/typescript/bin/tsc"
# TESTS: a subset while working on something, e.g. TESTS='file-storage*.test.mjs'.
echo "[test-js] node --test in $work"
# shellcheck disable=SC2086 # TESTS is a list of globs
node --test --test-reporter=spec ${TESTS:-./*.test.mjs ./*.test.cjs}
