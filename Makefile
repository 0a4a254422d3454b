# `make` lists the targets. `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.demo-deps-stamp
TEST_STAMP := $(VENV)/.test-deps-stamp
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: help demo test build native lint fmt bench wheel-check screenshots

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
	@echo "== installing the demo's dependencies into $(VENV) (into a new one: a 3.1 GB download)"
	$(PY) -m pip install -r requirements-demo.txt
	touch $@

$(TEST_STAMP): requirements-test.txt | $(PY)
	@echo "== installing the test dependencies into $(VENV) (into a new one: a 3.2 GB download)"
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
	$(PY) examples/demo.py --plot docs/images/demo-plot.png

## screenshots: README's TensorBoard screenshots of the demo's run (needs Chromium)
## docs/images/tensorboard-*.png, through a real TensorBoard and headless Chromium
## (scripts/screenshots.sh). Not part of demo or test.
screenshots: build
	PYTHON=$(PY) scripts/screenshots.sh

## test: cargo tests and the whole pytest suite
# The extension is built by maturin, as users get it. The Rust tests do not share its build of
# the core: the core's dev-dependencies (protox) turn on bytes' `std` and more of syn's features,
# so cargo compiles bytes, prost and the core again for them. One cargo invocation for both
# (`cargo build --release --workspace --lib --tests`) avoids that but was measured to save ~1% of
# the CPU time (README): with lto = "thin" the library crates are LLVM bitcode and the cost is
# the LTO link of each binary. The examples' two LTO links are skipped here (~18 CPU-seconds):
# `make lint` compiles them (clippy --all-targets).
test: $(TEST_STAMP) build
	cargo test -p ferroboard-core --release --lib --tests
	cargo test -p ferroboard-core --release --doc
	cargo test -p ferroboard-core --release --lib --no-default-features
	$(PY) -m pytest -q -p no:cacheprovider

## lint: rustfmt, clippy (pedantic; the core per feature), rustdoc, ruff and mypy; warnings are errors
# clippy over the workspace checks the core with every feature (the binding turns them all on);
# then the core alone with none, with each one: code behind a #[cfg(feature)] compiles and is
# clean in every combination. Only the core is checked again (~20 s each).
CORE_FEATURE_SETS := "" "media" "s3"
lint: $(TEST_STAMP)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	for f in $(CORE_FEATURE_SETS); do \
		echo "== ferroboard-core, features: [$$f]"; \
		cargo clippy -p ferroboard-core --all-targets --no-default-features --features "$$f" -- -D warnings || exit 1; \
	done
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
	ruff check python tests benches examples scripts
	ruff format --check python tests benches examples scripts
	mypy

## fmt: format Rust and Python in place
fmt:
	cargo fmt --all
	ruff format python tests benches examples scripts

## bench: every side-by-side benchmark behind BENCHMARKS.md, one after the other (about an
## hour; S3_DURATION=600 for the S3 bench's full ten minutes). The CUDA bench runs only where
## torch sees a GPU.
S3_DURATION ?= 60
bench: build $(TEST_STAMP)
	$(PY) benches/bench_writer.py
	$(PY) benches/bench_histogram.py
	$(PY) benches/bench_reader.py
	$(PY) benches/bench_reader.py --threads
	$(PY) benches/bench_image.py
	$(PY) -m pip install -q soundfile  # tensorboardX's add_audio needs it; the tests do not
	$(PY) benches/bench_audio_video.py
	$(PY) benches/bench_embedding.py
	$(PY) benches/bench_graph.py
	$(PY) benches/bench_rewrite.py
	$(PY) benches/bench_s3.py --duration $(S3_DURATION)
	@if $(PY) -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then \
		$(PY) benches/bench_cuda.py; \
	else echo "== bench_cuda.py skipped: no CUDA device"; fi

## wheel-check: build the abi3 wheel (pip wheel .) and the sdist, install each into a fresh
## virtual environment with only numpy, and use it there. Slow (release builds, the sdist's
## from scratch); needs numpy and maturin from the package index or pip's cache.
## FERROBOARD_WHEEL_PYTHONS="python3.9 python3.13" installs the wheel for those interpreters too.
wheel-check: $(TEST_STAMP)
	$(PY) -m pip install -q auditwheel
	FERROBOARD_WHEEL_CHECK=1 $(PY) -m pytest -q -p no:cacheprovider -s tests/test_wheel.py
