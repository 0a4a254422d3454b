# The two commands: `make demo` and `make test`. Both set everything up on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
DEPS_STAMP := $(VENV)/.deps-stamp
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: demo test build native lint fmt bench clean-venv

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Test and demo dependencies; pip's cache serves later runs (torch is large).
$(DEPS_STAMP): requirements-test.txt | $(PY)
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

## build: the extension in release mode, installed into the virtual environment
build: $(DEPS_STAMP)
	maturin develop --release -q

## native: rebuild the extension in place (python/ferroboard/_native.abi3.so) for PYTHONPATH=python
native:
	cargo build --release -p ferroboard-python
	cp target/release/lib_native.so python/ferroboard/_native.abi3.so

## demo: a short real training run logged with ferroboard, then read back
demo: build
	$(PY) examples/demo.py

## test: cargo tests and the whole pytest suite
test: build
	cargo test -p ferroboard-core --release
	$(PY) -m pytest -q -p no:cacheprovider

## lint: formatting and lints, Rust and Python
lint: $(DEPS_STAMP)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	ruff check python tests benches examples
	ruff format --check python tests benches examples

fmt:
	cargo fmt --all
	ruff format python tests benches examples

## bench: the side-by-side benchmarks behind BENCHMARKS.md
bench: build
	$(PY) benches/bench_writer.py

## wheel-check: build the abi3 wheel (pip wheel .) and the sdist, install each into a fresh
## virtual environment with only numpy, and use it there. Slow (release builds, the sdist's
## from scratch); needs numpy and maturin from the package index or pip's cache.
## FERROBOARD_WHEEL_PYTHONS="python3.9 python3.13" installs the wheel for those interpreters too.
.PHONY: wheel-check
wheel-check: $(DEPS_STAMP)
	$(or $(PY),python3) -m pip install -q auditwheel
	FERROBOARD_WHEEL_CHECK=1 $(or $(PY),python3) -m pytest -q -p no:cacheprovider -s tests/test_wheel.py
