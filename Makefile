# Smilepost — `make demo` runs it, `make test` tests it. Everything installs into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: install demo test check bench lint clean

$(BIN)/smilepost: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/smilepost  ## create .venv with Smilepost and its test/dev tools

demo: install  ## server + SQLite + demo location and kiosk + the kiosk window (offscreen without a display)
	$(BIN)/smilepost demo --port $(PORT)

test: install  ## the whole test suite (real SQLite, PostgreSQL, uvicorn on 127.0.0.1, Chromium, Kivy offscreen)
	$(BIN)/python -m pytest -n auto --dist loadfile

check: install  ## the fast tier: lint, then the tests that start no server, browser or kiosk window
	$(MAKE) lint
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not e2e and not kivy" --ignore=tests/e2e

bench: install  ## benchmarks (ingest, summary, fleet, drain) with ratios against baselines; not part of `make test`
	$(BIN)/python -m benchmarks

lint: install  ## ruff and strict mypy on the packages
	$(BIN)/ruff check kiosk server shared tests benchmarks
	$(BIN)/ruff format --check kiosk server shared tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data test-output .pytest_cache .mypy_cache .ruff_cache *.egg-info
