# The two commands of the README:
#   make run    set everything up, then run the main pipeline (pipelines/rl.yaml)
#   make test   set everything up, then run the whole test suite
# Set-up is a virtual environment in .venv with lcpipe installed in editable
# mode (meson-python): editing C++ under csrc/ rebuilds on the next import.
# JAX=auto (default) adds JAX's CUDA build when an NVIDIA GPU is present;
# JAX=cpu|cuda12|cuda13 chooses (lcpipe/accelerator_setup.py).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.lcpipe-installed
PIPELINE ?= pipelines/rl.yaml
PYTEST_ARGS ?=
JAX ?= auto
JAX_STAMP := $(VENV)/.jax-$(JAX)

.PHONY: run test setup bench fuzz-inflate fuzz-syzygy clean

setup: $(STAMP) $(JAX_STAMP)

$(STAMP): pyproject.toml meson.build csrc/meson.build plugins/lcpipe-example/pyproject.toml \
	  plugins/lcpipe-ray/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "meson-python>=0.15" "meson>=1.2" ninja "pybind11>=2.11" "numpy>=1.26" "setuptools>=61" wheel
	$(PY) -m pip install -q --no-build-isolation -e ".[test,tui,plot]"
	$(PY) -m pip install -q --no-build-isolation -e plugins/lcpipe-example
	$(PY) -m pip install -q --no-build-isolation -e plugins/lcpipe-ray
	$(PY) tests/fetch_syzygy_tables.py
	touch $(STAMP)

$(JAX_STAMP): $(STAMP)
	$(PY) -m lcpipe.accelerator_setup --jax $(JAX)
	touch $(JAX_STAMP)

run: $(STAMP) $(JAX_STAMP)
	$(VENV)/bin/lcpipe run $(PIPELINE)

test: $(STAMP) $(JAX_STAMP)
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

bench: $(STAMP) $(JAX_STAMP)
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

# Our DEFLATE decoder against zlib under AddressSanitizer/UBSan (any read
# past an input's end or undefined behaviour stops it).
CXX ?= g++
ITERATIONS ?= 20000
fuzz-inflate:
	mkdir -p build/fuzz
	$(CXX) -std=c++17 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -Icsrc \
	  csrc/fuzz/inflate_fuzz.cpp csrc/loader/inflate.cpp csrc/loader/crc32.cpp csrc/loader/gz.cpp -lz \
	  -o build/fuzz/inflate_fuzz
	build/fuzz/inflate_fuzz $(ITERATIONS)

# The Syzygy table reader on truncated / byte-changed copies of real tables
# under AddressSanitizer/UBSan (exact-size heap copies: any read past the end stops it).
SYZYGY_DIR ?= $(VENV)/syzygy-test
fuzz-syzygy:
	mkdir -p build/fuzz
	$(CXX) -std=c++17 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -Icsrc \
	  csrc/fuzz/syzygy_fuzz.cpp csrc/chess/board.cpp csrc/syzygy/index.cpp \
	  csrc/syzygy/pairs.cpp csrc/syzygy/table.cpp -o build/fuzz/syzygy_fuzz
	build/fuzz/syzygy_fuzz $(SYZYGY_DIR) $(ITERATIONS)

clean:
	rm -rf $(VENV) build
