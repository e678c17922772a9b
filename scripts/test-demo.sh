#!/usr/bin/env bash
# End-to-end test of the browser demo (www/): builds it against the packed package (npm pack
# pkg/, installed with --no-save, then vite build) and goes through it as a user would in headless
# Debian Chromium with playwright-core: items rebuilt from the log after a reload, a conflict
# between two tabs and its retry, the app working offline. Screenshots: test-results/demo-*.png.
# Assumes pkg/ is built (make build, or ./scripts/build-pkg.sh); needs /usr/bin/chromium
# (./scripts/setup.sh --browser installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[test-demo] %s\n' "$*"; }
die() { printf '[test-demo] FAILED: %s\n' "$*" >&2; exit 1; }

chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
[ -x "$chromium" ] || die "no Chromium at $chromium: run ./scripts/setup.sh --browser"
[ -f pkg/web.mjs ] || die "pkg/ is not built: run ./scripts/build-pkg.sh (or make build) first"

www/build-packed.sh || die "building www against the packed package"

say "node --test www/tests/demo.test.mjs"
(cd www && node --test --test-concurrency=1 --test-reporter=spec tests/demo.test.mjs) \
  || die "demo end-to-end tests (www/tests/demo.test.mjs); screenshots in test-results/"
say "ok; screenshots: $(ls test-results/demo-*.png | tr '\n' ' ')"
