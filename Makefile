# `make` lists the targets. `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.demo-deps-stamp
TEST_STAMP := $(VENV)/.test-deps-stamp
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: help demo test build native rust-test lint fmt bench

## help: list these targets (the default goal)
help:
	@echo "ferroboard: make TARGET"
	@awk '/^## [a-z-]+: / { t = $$2; sub(":", "", t); sub(/^## [a-z-]+: /, ""); \
		printf "  make %-10s %s\n", t, $$0 }' $(MAKEFILE_LIST)

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

# pip without -q: a line per package, and download progress bars on a terminal. The first run
# downloads ~3.1 GB (torch and its CUDA libraries, see README); pip's cache serves later runs.
$(DEMO_STAMP): requirements-demo.txt | $(PY)
	@echo "== installing the demo's dependencies into $(VENV) (first time: ~3.1 GB download)"
	$(PY) -m pip install -r requirements-demo.txt
	touch $@

$(TEST_STAMP): requirements-test.txt | $(PY)
	@echo "== installing the test dependencies into $(VENV) (first time: ~3.2 GB download)"
	$(PY) -m pip install -r requirements-test.txt
	touch $@

## build: the extension in release mode, installed into the virtual environment (maturin)
build: $(DEMO_STAMP)
	maturin develop --release

## native: rebuild the extension in place (python/ferroboard/_native.abi3.so) for PYTHONPATH=python
native:
	cargo build --release -p ferroboard-python
	cp target/release/lib_native.so python/ferroboard/_native.abi3.so

## demo: a short real training run logged with ferroboard, then read back
demo: build
	$(PY) examples/demo.py

## rust-test: build the extension in place and run cargo's tests (one cargo build for both)
# One feature resolution for the extension and the Rust tests: built apart (`maturin develop`,
# then `cargo test -p ferroboard-core`), the core's dev-dependencies turn on features of shared
# dependencies (bytes' `std`, syn's) and cargo compiles prost and the whole core a second time.
rust-test: $(TEST_STAMP)
	cargo build --release --workspace --lib --tests
	cp target/release/lib_native.so python/ferroboard/_native.abi3.so
	cargo test --release --workspace

## test: cargo tests and the whole pytest suite
test: rust-test
	PYTHONPATH=python $(PY) -m pytest -q -p no:cacheprovider

## lint: rustfmt, clippy, rustdoc, ruff (lint and format) and mypy, all warnings as errors
lint: $(TEST_STAMP)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
	ruff check python tests benches examples
	ruff format --check python tests benches examples
	mypy

## fmt: format Rust and Python in place
fmt:
	cargo fmt --all
	ruff format python tests benches examples

## bench: the side-by-side benchmarks behind BENCHMARKS.md
bench: build $(TEST_STAMP)
	$(PY) benches/bench_writer.py
