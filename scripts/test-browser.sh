#!/usr/bin/env bash
# Real-browser tests in headless Debian Chromium:
#   1. the wasm-bindgen-test suite of the bindings (tests/wasm_bindings.rs), on a page's main
#      thread and in a dedicated worker, through chromedriver;
#   2. the end-to-end node:test suite of the built package (tests/browser/*.test.mjs), driven by
#      playwright-core against pkg/ served from a static server.
# Assumes pkg/ is built (make build, or ./scripts/build-pkg.sh). Needs /usr/bin/chromium and
# /usr/bin/chromedriver (./scripts/setup.sh --browser installs them). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '[test-browser] %s\n' "$*"; }
die() { printf '[test-browser] FAILED: %s\n' "$*" >&2; exit 1; }

chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
chromedriver=${CHROMEDRIVER:-/usr/bin/chromedriver}
[ -x "$chromium" ] || die "no Chromium at $chromium: run ./scripts/setup.sh --browser"
[ -x "$chromedriver" ] || die "no chromedriver at $chromedriver: run ./scripts/setup.sh --browser"
[ -f pkg/web.mjs ] || die "pkg/ is not built: run ./scripts/build-pkg.sh (or make build) first"
say "$("$chromium" --version 2>/dev/null | head -n1); $("$chromedriver" --version | head -n1)"

# The end-to-end suite's npm dependencies (playwright-core, pinned in its package-lock.json).
if [ ! -d tests/browser/node_modules/playwright-core ] \
  || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
  say "installing tests/browser npm dependencies"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

# 1. wasm-bindgen-test in Chromium. The suite has no wasm_bindgen_test_configure!(run_in_browser),
# so without WASM_BINDGEN_USE_BROWSER (or a worker variable) the runner would skip every test and
# still exit 0: the summary line is checked as well, so that "ran nothing" fails too.
# chromedriver already starts Chromium with --headless --no-sandbox (we run as root) and without
# background networking.
log=$(mktemp -t wes-wasm-browser-XXXXXX)
trap 'rm -f "$log"' EXIT
for where in USE_BROWSER USE_DEDICATED_WORKER; do
  say "wasm-pack test --headless --chrome (WASM_BINDGEN_$where=1)"
  if ! env "WASM_BINDGEN_$where=1" CHROMEDRIVER="$chromedriver" \
    wasm-pack test --headless --chrome --chromedriver "$chromedriver" -- --test wasm_bindings 2>&1 | tee "$log"; then
    die "wasm-bindgen-test in Chromium (WASM_BINDGEN_$where=1)"
  fi
  grep -Eq '^test result: ok\. [1-9][0-9]* passed; 0 failed' "$log" \
    || die "wasm-bindgen-test in Chromium (WASM_BINDGEN_$where=1) ran no test"
done

# 2. The Playwright end-to-end suite, one test file at a time (each starts its own Chromium).
say "node --test tests/browser/*.test.mjs"
node --test --test-concurrency=1 --test-reporter=spec tests/browser/*.test.mjs \
  || die "browser end-to-end tests (tests/browser)"
say "ok"
