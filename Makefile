# ildrad: two commands on a fresh machine: `make demo` and `make test` (both install first).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ildrad-installed
DEMO_OUT ?= demo_out

.PHONY: install demo test system-deps clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# PyTorch CPU-only from the wheel on this machine's disk (see the environment notes).
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[all]"
	# Compile and cache numba kernels now, not at the first `ildrad extract`.
	$(BIN)/python -m ildrad.warmup
	touch $(STAMP)

# Debian packages the test suite drives (added by the stages that need them; libgomp1: numba's
# thread-safe OpenMP layer for the parallel radiomics kernels).
SYSTEM_PACKAGES := chromium chromium-driver dicom3tools libgomp1

system-deps:
	bash .ci/system-deps.sh $(SYSTEM_PACKAGES)

demo: install
	$(BIN)/ildrad demo --out $(DEMO_OUT)

test: install system-deps
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
