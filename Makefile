# wasm-event-store: every entry point a developer or CI needs.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: setup build demo test test-rust test-wasm test-js lint bench clean

## Install what is missing (idempotent; quick when everything is there).
setup:
	./scripts/setup.sh

## Build the npm package into pkg/.
build: setup
	./scripts/build-pkg.sh

## Build the package and run the Node demo against it.
demo: build
	node www/node-demo.mjs

## Install what is missing, then run every test.
test: setup lint test-rust test-wasm test-js

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --all-targets -- -D warnings

## Native tests of the pure core.
test-rust:
	cargo test

## wasm-bindgen-test of the bindings in Node.
test-wasm:
	wasm-pack test --node

## node:test suites against the packed tarball installed in a temporary folder (ESM and CJS).
test-js: build
	./scripts/test-packed.sh

bench: build
	node bench/run.mjs

clean:
	rm -rf pkg target
