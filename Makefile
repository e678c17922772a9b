# wasm-event-store: every entry point a developer or CI needs.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: setup setup-browser build demo test test-rust test-wasm test-js test-browser test-bundlers test-demo lint bench bench-smoke clean

## Install what is missing (idempotent; quick when everything is there).
setup:
	./scripts/setup.sh

## Install Debian chromium/chromedriver and the browser tests' npm dependencies if missing.
setup-browser:
	./scripts/setup.sh --browser

## Build the npm package into pkg/.
build: setup
	./scripts/build-pkg.sh

## Build the package, run the short Node tour, build the browser demo against the packed tarball
## and serve it on 127.0.0.1 (prints the URL; Ctrl-C stops it).
demo: setup
	./scripts/demo.sh

## End-to-end test of the browser demo in headless Chromium (playwright-core).
test-demo: setup-browser build
	./scripts/test-demo.sh

## Install what is missing, then run every test.
test: setup setup-browser lint bench-smoke test-rust test-wasm test-js test-browser test-bundlers test-demo

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --all-targets -- -D warnings

## Native tests of the pure core.
test-rust:
	cargo test

## wasm-bindgen-test of the bindings in Node.
test-wasm:
	wasm-pack test --node -- --test wasm_bindings

## node:test suites against the packed tarball installed in a temporary folder (ESM and CJS).
test-js: build
	./scripts/test-packed.sh

## The packed package built with Vite 8, webpack 5, esbuild, Rollup and Next.js 16 (browser builds run in Chromium).
test-bundlers: setup-browser build
	./scripts/test-bundlers.sh

## wasm-bindgen-test in headless Chromium, then the Playwright end-to-end tests of pkg/.
test-browser: setup-browser build
	./scripts/test-browser.sh

## Benchmarks against named peers: prints tables, writes bench/results.json. Never fails on timing.
bench: build
	node --expose-gc bench/run.mjs

## A tiny run of the benchmark harness, only to check that it works (figures meaningless).
bench-smoke: build
	node --expose-gc bench/run.mjs --quick --json "$$(mktemp -t wes-bench-XXXXXX.json)"

clean:
	rm -rf pkg target
