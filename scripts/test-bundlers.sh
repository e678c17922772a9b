#!/usr/bin/env bash
# Builds a small app against the packed package with Vite 8, webpack 5, esbuild, Rollup and Next.js, as the
# README's Bundlers section says, and runs each build in headless Chromium (tests/bundlers/).
# Assumes pkg/ is built and Chromium and the browser tests' dependencies are installed
# (./scripts/setup.sh --browser installs them, the bundlers included).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -f pkg/web.mjs ] || { echo "[test-bundlers] pkg/ is not built: run ./scripts/build-pkg.sh" >&2; exit 1; }
work=$(mktemp -d -t wes-bundlers-pack-XXXXXX)
trap 'rm -rf "$work"' EXIT
npm pack "${PKG_OUT:-$root/pkg}" --pack-destination "$work" --silent >/dev/null
export WES_TARBALL
WES_TARBALL=$(ls "$work"/wasm-event-store-*.tgz)
echo "[test-bundlers] node --test tests/bundlers/"
node --test --test-concurrency=1 --test-reporter=spec tests/bundlers/
