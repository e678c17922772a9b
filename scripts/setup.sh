#!/usr/bin/env bash
# Installs what the build and the tests need, skipping what is already there.
# Idempotent: a second run only checks. Everything comes from crates.io, npm or Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
  esac
done

export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '[setup] %s\n' "$*"; }

# Node 20.19 or later: the demo's Vite 7 needs it (the package itself runs on any Node 20).
node_version=$(node --version | tr -d v)
node_major=${node_version%%.*}
node_minor=$(echo "$node_version" | cut -d. -f2)
if [ "$node_major" -lt 20 ] || { [ "$node_major" -eq 20 ] && [ "$node_minor" -lt 19 ]; }; then
  echo "[setup] Node $node_version is too old: the tests and the demo need Node 20.19 or later" >&2
  exit 1
fi

# clippy and rustfmt for `make lint`, on toolchains installed without them.
for component in clippy rustfmt; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    say "adding rust component $component"
    rustup component add "$component"
  fi
done

# The wasm target for rustc.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
if [ ! -f Cargo.lock ]; then
  cargo generate-lockfile
fi
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$bindgen_version" ]; then
  echo "[setup] could not read the wasm-bindgen version from Cargo.lock" >&2
  exit 1
fi
installed_bindgen=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$installed_bindgen" != "$bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version (found: ${installed_bindgen:-none})"
  # --locked first; its lock names a webpki-roots release the registry here does not serve,
  # so fall back to resolving the CLI's dependencies afresh (the CLI version itself is exact).
  cargo install wasm-bindgen-cli --version "$bindgen_version" --locked --force \
    || cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

# wasm-pack, pinned so that a new release cannot change the build under us.
wasm_pack_version=0.15.1
if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$wasm_pack_version" ]; then
  say "installing wasm-pack $wasm_pack_version"
  cargo install wasm-pack --version "$wasm_pack_version" --locked \
    || cargo install wasm-pack --version "$wasm_pack_version" --force
fi

# The package build's npm tools, pinned in tools/package-lock.json and run from
# tools/node_modules/.bin: wasm-opt (Debian's binaryen 108 predates features rustc now emits)
# and esbuild (bundles the JS sources into the Node and browser modules).
if [ ! -x tools/node_modules/.bin/wasm-opt ] || [ ! -x tools/node_modules/.bin/esbuild ] \
  || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
  say "installing npm build tools (wasm-opt, esbuild)"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi

# npm dev dependencies of the test and bench harnesses.
if [ ! -d tests/js/node_modules ] || [ tests/js/package-lock.json -nt tests/js/node_modules/.package-lock.json ]; then
  say "installing test dependencies"
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi

# The peers the benchmark measures against (pinned in bench/package-lock.json).
if [ ! -d bench/node_modules ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
  say "installing benchmark peers"
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi

# PostgreSQL's server binaries: the PostgreSQL tests start a private, throwaway server with them
# (scripts/with-postgres.sh); no server runs on the machine.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  say "installing Debian postgresql (server binaries for the PostgreSQL tests)"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
fi

if [ "$want_browser" = 1 ]; then
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    say "installing Debian chromium and chromium-driver"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
  fi
  # The bundlers tests/bundlers builds the package with (pinned in its package-lock.json).
  if [ ! -d tests/bundlers/node_modules ] || [ tests/bundlers/package-lock.json -nt tests/bundlers/node_modules/.package-lock.json ]; then
    say "installing the bundlers the bundler tests use"
    # npm install, not npm ci: Vite 8 names an optional Windows-only dependency that the
    # registry here does not serve, which npm ci refuses and npm install skips (the lock
    # stays as it is).
    (cd tests/bundlers && npm install --no-audit --no-fund --loglevel=error)
  fi
  # playwright-core for the browser end-to-end tests; it drives the Debian Chromium above and
  # downloads no browser of its own.
  if [ ! -d tests/browser/node_modules/playwright-core ] \
    || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
    say "installing browser test dependencies"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
say "ok"
